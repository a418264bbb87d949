"""SQLite record store: durable appends, chain links, bounded pending, acks and retention."""

import sqlite3
from datetime import timedelta

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import ZERO_HASH, Kind
from fieldcheck_protocol.signature import record_hash, verify_record
from firmware.core.settings import SettingsError
from firmware.errors import StoreError
from firmware.services.ledger import NO_MODEL
from firmware.store.backends.sqlite import Config, SqliteRecordStore, create
from firmware.store.identity import DeviceIdentity, create_identity
from firmware.version import FIRMWARE_VERSION
from tests.fieldcheck_protocol.records_factory import sample_fix
from tests.firmware.store.store_fixtures import StoreFactory, Writer

BODIES = {Kind.LOCATION: {"interval": 60}, Kind.EVENT: {"type": "boot"},
          Kind.CHECKIN: {"verdict": "unknown", "guidance": "too dark"}}


@pytest.fixture
def fill(write: Writer):
    def filler(store: SqliteRecordStore, count: int, kind: Kind = Kind.LOCATION) -> list[int]:
        return [write(store, kind, BODIES[kind]).record.seq for _ in range(count)]

    return filler


def test_appends_are_signed_chained_and_verifiable(open_store: StoreFactory, write: Writer,
                                                   identity: DeviceIdentity) -> None:
    store = open_store()
    first = write(store, Kind.EVENT, {"type": "boot"})
    second = write(store, Kind.CHECKIN, {"verdict": "match", "score": 0.9}, fix=sample_fix(),
                   gps_time=sample_fix().gps_time)
    assert (first.record.seq, second.record.seq) == (0, 1)
    assert first.record.prev_hash == ZERO_HASH
    assert second.record.prev_hash == record_hash(first.cose)
    assert verify_record(second.cose, identity.public_key) == second.record
    assert second.record.firmware_version == FIRMWARE_VERSION
    assert second.record.model_version == NO_MODEL
    assert [r.cose for r in store.records()] == [first.cose, second.cose]


def test_connection_is_wal_with_full_sync(open_store: StoreFactory) -> None:
    store = open_store()
    assert store._conn is not None
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    raw = sqlite3.connect(store.path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_pending_is_bounded_by_count_and_bytes(open_store: StoreFactory, fill) -> None:
    store = open_store()
    fill(store, 10)
    size = len(store.pending(1, 10**6)[0][1])
    assert [s for s, _ in store.pending(4, 10**6)] == [0, 1, 2, 3]
    assert [s for s, _ in store.pending(10, 3 * size)] == [0, 1, 2]
    assert [s for s, _ in store.pending(10, 1)] == [0]  # always at least one
    store.acknowledge(6)
    assert [s for s, _ in store.pending(10, 10**6)] == [7, 8, 9]
    store.acknowledge(3)  # an older ack never moves the mark back
    assert store.status().acked_seq == 6


def test_acknowledging_an_unwritten_seq_is_refused(open_store: StoreFactory, fill) -> None:
    store = open_store()
    fill(store, 3)
    with pytest.raises(StoreError, match="written only up to 2"):
        store.acknowledge(3)
    assert store.status().acked_seq == -1


def test_prune_deletes_only_acknowledged_records_past_retention(
        open_store: StoreFactory, clock: ManualClock, fill) -> None:
    store = open_store(retention_days=10.0)
    fill(store, 4)  # seq 0..3, old
    clock.advance(timedelta(days=11).total_seconds())
    fill(store, 2)  # seq 4..5, young
    store.acknowledge(4)
    assert store.prune() == 4
    assert [r.seq for r in store.records()] == [4, 5]  # 4 is acked but young, 5 unacked
    clock.advance(timedelta(days=30).total_seconds())
    assert store.prune() == 1
    assert [r.seq for r in store.records()] == [5]
    assert store.verify_chain() == []


def test_seq_never_repeats_after_pruning_everything_and_restarting(
        open_store: StoreFactory, clock: ManualClock, fill, write: Writer) -> None:
    store = open_store(retention_days=0.0)
    fill(store, 3)
    store.acknowledge(2)
    clock.advance(1)
    assert store.prune() == 3
    store.stop()
    reopened = open_store(retention_days=0.0)
    assert reopened.problems == []
    appended = write(reopened, Kind.EVENT, {"type": "boot"})
    assert appended.record.seq == 3
    assert appended.record.prev_hash != ZERO_HASH  # still linked to the pruned seq 2


def test_the_database_itself_refuses_updates_and_unacknowledged_deletes(
        open_store: StoreFactory, fill) -> None:
    store = open_store()
    fill(store, 3)
    store.acknowledge(0)
    raw = sqlite3.connect(store.path, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE records SET cose = x'00' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="only acknowledged"):
        raw.execute("DELETE FROM records WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="never move backwards"):
        raw.execute("UPDATE meta SET value = 0 WHERE key = 'next_seq'")
    raw.execute("DELETE FROM records WHERE seq = 0")  # acknowledged: allowed
    raw.close()


def test_invalid_body_is_refused_and_consumes_no_seq(open_store: StoreFactory,
                                                     write: Writer) -> None:
    store = open_store()
    with pytest.raises(StoreError, match="firmware bug"):
        write(store, Kind.CHECKIN, {"verdict": "guilty"})
    assert write(store, Kind.EVENT, {"type": "boot"}).record.seq == 0


def test_a_store_of_another_device_is_refused(open_store: StoreFactory, tmp_path,
                                              clock: ManualClock) -> None:
    open_store().stop()
    stranger = create_identity(tmp_path / "other")
    store = create(Config(), data_dir=tmp_path, identity=stranger, clock=clock)
    with pytest.raises(StoreError, match="holds records of device"):
        store.start()


def test_config_refuses_inconsistent_thresholds() -> None:
    with pytest.raises(SettingsError):
        Config(storage_low_bytes=100, storage_recovered_bytes=50)
    with pytest.raises(SettingsError):
        Config(thin_keep_every=1)


def test_status_counts(open_store: StoreFactory, fill) -> None:
    store = open_store()
    fill(store, 5)
    store.acknowledge(1)
    status = store.status()
    assert (status.next_seq, status.acked_seq, status.retained, status.pending) == (5, 1, 5, 3)
    assert [r.acknowledged for r in store.records()] == [True, True, False, False, False]
