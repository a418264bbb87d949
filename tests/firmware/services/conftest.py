"""Shared fixtures of the service tests: a manual clock and a real SQLite store on it."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.store.backends.sqlite import SqliteRecordStore
from tests.firmware.services.checkin_fakes import opened_store


@pytest.fixture()
def clock() -> ManualClock:
    """Noon UTC on the test day; a module may override it with its own start."""
    return ManualClock(wall=datetime(2026, 11, 24, 12, 0, tzinfo=UTC), mono=1000.0)


@pytest.fixture()
def store(tmp_path: Path, clock: ManualClock) -> Iterator[SqliteRecordStore]:
    """A started store in ``tmp_path`` on the test's clock."""
    yield from opened_store(tmp_path, clock)
