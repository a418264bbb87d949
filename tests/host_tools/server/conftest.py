"""Fixtures for the ingest server tests: an in-process app on a temporary SQLite database."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from firmware.core.clock import ManualClock

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "firmware" / "sync"))

from devicesim import SimDevice  # noqa: E402
from serverkit import LIMITS  # noqa: E402

from host_tools.server import registry  # noqa: E402
from host_tools.server.app import create_app  # noqa: E402
from host_tools.server.db import Database, open_sqlite  # noqa: E402
from host_tools.server.ingest import IngestService  # noqa: E402


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_sqlite(tmp_path / "server.db")
    database.create_schema()
    return database


@pytest.fixture
def device(db: Database) -> SimDevice:
    sim = SimDevice()
    registry.register(db, sim.device_id, sim.public_key.hex(), "bench unit 1", 0)
    return sim


@pytest.fixture
def client(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(IngestService(db, clock, LIMITS))) as test_client:
        yield test_client
