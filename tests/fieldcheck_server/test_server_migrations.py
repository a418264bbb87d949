"""Migrations on both engines: a database made by the old server upgrades losing nothing."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database
from fieldcheck_server.db.tables import metadata
from fieldcheck_server.domain.export import rows
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.errors import MigrationError
from tests.fieldcheck_server.legacy_schema import LegacyData, legacy_postgres, legacy_sqlite
from tests.fieldcheck_server.pgcluster import PgCluster
from tests.fieldcheck_server.serverkit import LIMITS, post


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, LegacyData]]:
    """A pre-migration database with rows in every table, then opened by today's code."""
    if request.param == "sqlite":
        path = tmp_path / "fieldcheck.db"
        data = legacy_sqlite(str(path))
        url = f"sqlite:///{path}"
    else:
        cluster: PgCluster = request.getfixturevalue("postgres")
        url = cluster.fresh_schema_url()
        data = legacy_postgres(url)
    db = open_database(url)
    yield db, data
    db.dispose()


#: What an old SQLite file differs in, and why it is left alone: SQLite lets a non-integer
#: PRIMARY KEY column hold NULL unless it says NOT NULL (the old code never wrote one), and it
#: reflects the old unnamed UNIQUE (code, digest) without a name (it is enforced all the same).
#: Rebuilding these tables would need foreign keys off during the upgrade, for no behaviour.
SQLITE_LEGACY_QUIRKS = {
    ("modify_nullable", "devices", "device_id"),
    ("modify_nullable", "meta", "key"),
    ("add_constraint", "quarantine", "UniqueConstraint"),
}


def _differences(db: Database) -> set[tuple[str, str, str]]:
    with db.read() as tx:
        found = compare_metadata(MigrationContext.configure(tx.connection), metadata)
    differences = set()
    for item in found:
        change = item[0] if isinstance(item, list) else item
        if change[0] == "add_constraint":
            differences.add((change[0], change[1].table.name, type(change[1]).__name__))
        else:
            differences.add((change[0], change[2], change[3]))
    return differences


def test_a_legacy_database_is_stamped_then_upgraded(legacy: tuple[Database, LegacyData]) -> None:
    db, _ = legacy
    assert migrate.current_revision(db) is None
    assert migrate.upgrade(db) == migrate.head_revision()
    expected = SQLITE_LEGACY_QUIRKS if db.dialect == "sqlite" else set()
    assert _differences(db) == expected


def test_the_upgrade_loses_nothing(legacy: tuple[Database, LegacyData]) -> None:
    db, data = legacy
    migrate.upgrade(db)
    with db.read() as tx:
        devices = {row.device_id: row for row in tx.devices()}
        assert devices[data.active.device_id].public_key == data.active.public_key
        assert devices[data.active.device_id].label == "unit 1"
        assert devices[data.active.device_id].revoked_at is None
        assert devices[data.revoked.device_id].revoked_at == 2000
        assert [cose for _, cose, _ in tx.records(data.active.device_id, 0, 100)] == data.chain
        [evidence] = tx.quarantined(data.active.device_id)
        assert (evidence.seq, evidence.code, evidence.raw) == (3, "fork", data.forked)
        [alert] = tx.alerts(10)
        assert (alert.device_id, alert.code, alert.quarantine_id) == (
            data.active.device_id,
            "fork",
            evidence.id,
        )
        # The nonce is still remembered: a replay from before the upgrade stays a replay.
        assert not tx.use_nonce(data.active.device_id, data.nonce, 99_999_999_999)
    statuses = [row.status for row in rows(db, data.active.device_id)]
    assert statuses == ["verified"] * 5 + ["quarantined"]


def test_the_upgraded_database_keeps_ingesting(legacy: tuple[Database, LegacyData]) -> None:
    """The chain goes on from the stored head, and new evidence and alerts get fresh ids."""
    db, data = legacy
    migrate.upgrade(db)
    clock = ManualClock()
    with TestClient(create_app(IngestService(db, clock, LIMITS))) as client:
        answer = post(client, data.active, data.active.extend(2), clock).json()
        assert (answer["acked_seq"], answer["accepted"]) == (6, 2)
        forked = data.active.sign(data.active.record(2, b"\1" * 32))
        answer = post(client, data.active, [forked], clock).json()
        assert [item["code"] for item in answer["rejected"]] == ["fork"]
    with db.read() as tx:
        assert [alert.code for alert in tx.alerts(10)] == ["fork", "fork"]
        assert len({q.id for q in tx.quarantined(data.active.device_id)}) == 2


def test_an_unknown_schema_is_refused_not_overwritten(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute("INSERT INTO meta VALUES ('schema_version', '7')")
    with pytest.raises(MigrationError, match="schema_version '7'"):
        migrate.upgrade(open_database(f"sqlite:///{path}"))


def test_the_migration_scripts_are_shipped_as_package_data() -> None:
    """An installed wheel must carry them: the versions are a package, the template its data."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]
    assert "script.py.mako" in data["fieldcheck_server.db.migrations"]
    versions = migrate.MIGRATIONS / "versions"
    assert (versions / "__init__.py").exists() and list(versions.glob("0001_*.py"))
