"""Fixtures for the store tests: a device identity in a temp dir and a store factory."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.store.backends.sqlite import Config, SqliteRecordStore, create
from firmware.store.identity import DeviceIdentity, create_identity
from tests.firmware.store.store_fixtures import FreeSpace, StoreFactory


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
                       clock=clock, model_version="m1", free_bytes=free_space)
        store.start()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.stop()
