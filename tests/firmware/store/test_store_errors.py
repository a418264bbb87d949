"""SQLite failures injected for real, classified by result code name into errors with a fix."""

import sqlite3
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from firmware.errors import StoreError
from firmware.store.backends.sqlite import Config, SqliteRecordStore, create
from firmware.store.backends.sqlite_errors import primary_code
from firmware.store.identity import DeviceIdentity
from tests.firmware.store.store_fixtures import StoreFactory, Writer


def _raw_error(store: SqliteRecordStore, sql: str) -> sqlite3.Error:
    assert store._conn is not None
    with pytest.raises(sqlite3.Error) as caught:
        store._conn.execute(sql)
    return caught.value


def test_a_full_disk_says_free_space(open_store: StoreFactory, write: Writer) -> None:
    store = open_store()
    assert store._conn is not None
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: "disk full"
    with pytest.raises(StoreError) as caught:
        for _ in range(1000):
            write(store, Kind.CHECKIN, {"verdict": "unknown", "guidance": "too_dark" * 20})
    assert "(SQLITE_FULL)" in str(caught.value)
    assert "is full: free space there" in caught.value.hint
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert caught.value.__cause__.sqlite_errorname == "SQLITE_FULL"
    assert store.verify_chain() == []  # what was committed before stays intact


def test_a_database_held_by_another_process_says_stop_it(open_store: StoreFactory,
                                                          write: Writer) -> None:
    store = open_store(busy_timeout_s=0.05)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StoreError) as caught:
            write(store, Kind.EVENT, {"type": "boot"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "(SQLITE_BUSY)" in str(caught.value) and "another process" in caught.value.hint
    assert write(store, Kind.EVENT, {"type": "boot"}).record.seq == 0  # nothing consumed


def test_a_read_only_database_says_check_ownership(open_store: StoreFactory,
                                                    write: Writer) -> None:
    store = open_store()
    assert store._conn is not None
    store._conn.execute("PRAGMA query_only = 1")  # what SQLite answers on a read-only file
    with pytest.raises(StoreError) as caught:
        write(store, Kind.EVENT, {"type": "boot"})
    assert "(SQLITE_READONLY)" in str(caught.value)
    assert "owns" in caught.value.hint and "read-write" in caught.value.hint


def test_a_folder_where_the_database_should_be_says_so(tmp_path: Path,
                                                       identity: DeviceIdentity) -> None:
    (tmp_path / Config().filename).mkdir()
    store = create(Config(), data_dir=tmp_path, identity=identity, clock=ManualClock())
    with pytest.raises(StoreError) as caught:
        store.start()
    assert "(SQLITE_CANTOPEN)" in str(caught.value)
    assert "is a file (not a folder)" in caught.value.hint


def test_extended_and_unnamed_codes(open_store: StoreFactory) -> None:
    store = open_store()
    missing_table = _raw_error(store, "SELECT * FROM nowhere")
    assert primary_code(missing_table) == "SQLITE_ERROR"
    store.stop()
    closed = sqlite3.connect(":memory:")
    closed.close()
    with pytest.raises(sqlite3.ProgrammingError) as caught:
        closed.execute("SELECT 1")
    assert primary_code(caught.value) == "SQLITE_UNKNOWN"  # raised by Python, not SQLite
