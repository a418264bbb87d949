"""The data layer: one schema from the migrations, concurrent writers, nonce expiry."""

import threading

import cbor2
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database
from fieldcheck_server.db.tables import metadata
from fieldcheck_server.domain import registry
from fieldcheck_server.domain.ingest import IngestService
from tests.fieldcheck_server.serverkit import auth_headers, stored
from tests.firmware.sync.devicesim import SimDevice


def test_the_migrated_schema_is_the_one_the_code_uses(db: Database) -> None:
    """Alembic's autogenerate finds nothing to change between the migrations and the tables."""
    with db.read() as tx:
        assert compare_metadata(MigrationContext.configure(tx.connection), metadata) == []
    assert migrate.current_revision(db) == migrate.head_revision()


def test_upgrade_twice_is_a_no_op(db: Database) -> None:
    assert migrate.upgrade(db) == migrate.upgrade(db) == migrate.head_revision()


def test_nonces_expire_after_the_freshness_window(db: Database) -> None:
    with db.write() as tx:
        assert tx.use_nonce("fc-x", "n1", expires_at=100)
        assert not tx.use_nonce("fc-x", "n1", expires_at=100)
        assert tx.use_nonce("fc-y", "n1", expires_at=100)
        tx.purge_nonces("fc-x", now=101)
        assert tx.use_nonce("fc-x", "n1", expires_at=500)
        # Each device's nonces are purged under its own lock, never another device's.
        assert not tx.use_nonce("fc-y", "n1", expires_at=500)


def test_concurrent_ingest_nodes_store_each_record_once(db: Database, db_url: str) -> None:
    """Two stateless handlers on one database, racing with the same batches."""
    sim, clock = SimDevice(), ManualClock()
    registry.register(db, sim.device_id, sim.public_key.hex(), "", 0)
    nodes = [IngestService(open_database(db_url), clock) for _ in range(2)]
    chain = sim.extend(120)
    errors: list[BaseException] = []

    def push(node: IngestService) -> None:
        try:
            for start in range(0, len(chain), 20):
                body = cbor2.dumps(chain[: start + 20])
                result = node.handle(auth_headers(sim, body, clock), body, len(body), "t")
                assert not result.rejected
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(err)

    threads = [threading.Thread(target=push, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored(open_database(db_url), sim) == chain
