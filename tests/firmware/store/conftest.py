"""Fixtures for the store tests: a device identity in a temp dir, a store factory and a writer.

Records reach the store the one way they do on a unit: built and signed by the ledger.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import FixSummary, Kind
from firmware.services.ledger import Appended, Ledger
from firmware.store.backends.sqlite import Config, SqliteRecordStore, create
from firmware.store.base import RecordStore
from firmware.store.identity import DeviceIdentity, create_identity
from tests.firmware.store.store_fixtures import FreeSpace, StoreFactory, Writer


@pytest.fixture
def identity(tmp_path: Path) -> DeviceIdentity:
    return create_identity(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def free_space() -> FreeSpace:
    return FreeSpace()


@pytest.fixture
def open_store(tmp_path: Path, identity: DeviceIdentity, clock: ManualClock,
               free_space: FreeSpace) -> Iterator[StoreFactory]:
    opened: list[SqliteRecordStore] = []

    def factory(**settings: object) -> SqliteRecordStore:
        store = create(Config(**settings), data_dir=tmp_path, identity=identity,  # type: ignore[arg-type]
                       clock=clock, free_bytes=free_space)
        store.start()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.stop()


@pytest.fixture
def write(identity: DeviceIdentity, clock: ManualClock) -> Writer:
    def writer(store: RecordStore, kind: Kind, body: Mapping[str, Any],
               fix: FixSummary | None = None, gps_time: datetime | None = None) -> Appended:
        return Ledger(store, identity, clock).write(kind, body, fix, gps_time)

    return writer
