"""The data layer: portable SQL, concurrent writers, nonce expiry (on SQLite and PostgreSQL)."""

import re
import threading

import cbor2

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server import registry
from fieldcheck_server.db import DDL, POSTGRES, SQL, SQLITE, Database, open_database
from fieldcheck_server.ingest import IngestService
from tests.fieldcheck_server.serverkit import auth_headers, stored
from tests.firmware.sync.devicesim import SimDevice


def test_every_statement_converts_to_the_psycopg_parameter_style() -> None:
    for name, statement in SQL.items():
        converted = POSTGRES.convert(statement)
        assert not re.search(r"(?<![:\w]):[a-z_]", converted), name
        assert sorted(re.findall(r"%\((\w+)\)s", converted)) == sorted(
            re.findall(r"(?<![:\w]):([a-z_]\w*)", statement)
        ), name
        assert SQLITE.convert(statement) == statement


def test_ddl_has_no_engine_specific_types_left_unfilled() -> None:
    for dialect in (SQLITE, POSTGRES):
        for statement in DDL:
            text = statement.format(blob=dialect.blob, identity=dialect.identity)
            assert "{" not in text and ("BLOB" not in text or dialect is SQLITE)


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
