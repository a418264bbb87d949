"""Fixtures for the ingest server tests: an in-process app on each database backend.

Every test that uses ``db`` runs twice: on a temporary SQLite file and on a schema of its own in
a throwaway PostgreSQL cluster (started once per session; skipped with the reason where it cannot
run, e.g. without the PostgreSQL binaries).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database
from fieldcheck_server.domain import registry
from fieldcheck_server.domain.ingest import IngestService
from tests.fieldcheck_server.pgcluster import PgCluster, unavailable
from tests.fieldcheck_server.serverkit import LIMITS
from tests.firmware.sync.devicesim import SimDevice


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for the whole session, stopped and deleted at the end."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend, as the URL `fieldcheck server run --database` takes."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    cluster: PgCluster = request.getfixturevalue("postgres")
    return cluster.fresh_schema_url()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    migrate.upgrade(database)
    yield database
    # Close its pooled connections: left to the garbage collector, a few hundred tests'
    # pools exhaust the cluster's max_connections ("sorry, too many clients already").
    database.dispose()


@pytest.fixture
def device(db: Database) -> SimDevice:
    sim = SimDevice()
    registry.register(db, sim.device_id, sim.public_key.hex(), "bench unit 1", 0)
    return sim


@pytest.fixture
def client(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(IngestService(db, clock, LIMITS))) as test_client:
        yield test_client
