"""Checks at open (integrity, hash chain, missing records) and the storage-low policy."""

import sqlite3
from pathlib import Path

from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware.services.ledger import Ledger
from firmware.store.backends.sqlite import SqliteRecordStore
from firmware.store.identity import DeviceIdentity
from tests.firmware.store.store_fixtures import FreeSpace, StoreFactory, Writer

MIB = 1024 * 1024


def _tamper(store: SqliteRecordStore, *sql: str) -> None:
    """Change the file behind the store's back, the way an attacker or a bad disk would."""
    store.stop()
    raw = sqlite3.connect(store.path, isolation_level=None)
    raw.execute("DROP TRIGGER records_append_only")
    raw.execute("DROP TRIGGER records_delete_acknowledged_only")
    raw.execute("DROP TRIGGER meta_marks_move_forward")
    for statement in sql:
        raw.execute(statement)
    raw.close()


def _codes(store: SqliteRecordStore) -> dict[str, int | None]:
    return {p.code: p.first_seq for p in store.problems}


def _events(open_store: StoreFactory, write: Writer, count: int = 6) -> SqliteRecordStore:
    store = open_store()
    for _ in range(count):
        write(store, Kind.EVENT, {"type": "battery", "details": {"percent": 40}})
    return store


def test_clean_store_reports_no_problems(open_store: StoreFactory, write: Writer) -> None:
    _events(open_store, write).stop()
    store = open_store(verify_signatures_at_open=True, integrity_check="full")
    assert store.problems == [] and store.verify_chain() == []


def test_altered_record_is_reported_and_raised_as_an_event(
        open_store: StoreFactory, write: Writer, identity: DeviceIdentity, clock) -> None:
    store = _events(open_store, write)
    other = store.records(after=3, limit=1)[0].cose.hex()
    _tamper(store, f"UPDATE records SET cose = x'{other}' WHERE seq = 2")
    reopened = open_store()
    assert _codes(reopened) == {"chain_broken": 2}
    events = Ledger(reopened, identity, clock).report(reopened.problems)
    assert [e.record.body["type"] for e in events] == ["chain_broken"]
    assert events[0].record.body["details"]["first_seq"] == 2
    assert unverified_record(reopened.records(after=5)[0].cose).body["type"] == "chain_broken"


def test_deleted_unacknowledged_records_are_missing(open_store: StoreFactory,
                                                    write: Writer) -> None:
    store = _events(open_store, write)
    store.acknowledge(1)
    _tamper(store, "DELETE FROM records WHERE seq IN (0, 3, 4)")  # 0 was acked: fine
    reopened = open_store()
    assert reopened.problems[0].code == "records_missing"
    assert (reopened.problems[0].first_seq, reopened.problems[0].count) == (3, 2)


def test_lost_tail_and_rewound_high_water_mark_are_found(open_store: StoreFactory,
                                                        write: Writer) -> None:
    store = _events(open_store, write)
    _tamper(store, "DELETE FROM records WHERE seq = 5")
    assert _codes(open_store()) == {"records_missing": 5}
    store = open_store()
    store.stop()
    _tamper(store, "UPDATE meta SET value = 3 WHERE key = 'next_seq'")
    assert "chain_broken" in _codes(open_store())


def test_damaged_file_is_reported_not_raised(open_store: StoreFactory, write: Writer) -> None:
    store = open_store()
    for _ in range(200):
        write(store, Kind.LOCATION, {"interval": 60})
    assert store._conn is not None
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.stop()
    data = bytearray(Path(store.path).read_bytes())
    data[4096 + 8:4096 + 12] = b"\xff" * 4  # page 2: the pointer map (auto_vacuum)
    Path(store.path).write_bytes(bytes(data))
    reopened = open_store()
    assert "integrity_failed" in _codes(reopened)


def _mixed(write: Writer, store: SqliteRecordStore, rounds: int) -> None:
    for _ in range(rounds):
        write(store, Kind.LOCATION, {"interval": 60})
        write(store, Kind.LOCATION, {"interval": 60})
        write(store, Kind.CHECKIN, {"verdict": "match", "score": 0.9})


def test_storage_low_event_once_per_crossing_and_thinning(
        open_store: StoreFactory, write: Writer, free_space: FreeSpace,
        identity: DeviceIdentity, clock) -> None:
    store = open_store(storage_low_bytes=10 * MIB, storage_recovered_bytes=20 * MIB,
                       thin_keep_every=4)
    ledger = Ledger(store, identity, clock)
    _mixed(write, store, 12)  # seq 0..35: 24 locations, 12 check-ins
    store.acknowledge(29)
    assert ledger.check_storage() is None
    free_space.bytes = 5 * MIB
    low = ledger.check_storage()
    assert low is not None and low.record.body["type"] == "storage_low"
    details = low.record.body["details"]
    assert details["free_bytes"] == 5 * MIB and details["thinned"] == 15  # 20 acked, keep 5
    kinds = {r.seq: unverified_record(r.cose).kind for r in store.records(limit=1000)}
    assert sum(k is Kind.CHECKIN for k in kinds.values()) == 12  # never dropped
    assert all(seq in kinds for seq in range(30, 37))  # unacknowledged kept
    assert ledger.check_storage() is None  # still low: no second event
    assert store.status().storage_low
    free_space.bytes = 15 * MIB  # between thresholds: still low
    assert ledger.check_storage() is None
    free_space.bytes = 25 * MIB
    recovered = ledger.check_storage()
    assert recovered is not None and recovered.record.body["type"] == "storage_recovered"
    assert not store.status().storage_low
    assert store.verify_chain() == []
    store.stop()
    assert open_store().problems == []


def test_thinning_considers_each_acknowledged_record_once(
        open_store: StoreFactory, write: Writer, free_space: FreeSpace,
        identity: DeviceIdentity, clock) -> None:
    store = open_store(storage_low_bytes=10 * MIB, storage_recovered_bytes=20 * MIB,
                       thin_keep_every=2)
    ledger = Ledger(store, identity, clock)
    _mixed(write, store, 4)  # 8 locations
    store.acknowledge(5)  # locations 0,1,3,4
    free_space.bytes = MIB
    low = ledger.check_storage()
    assert low is not None and low.record.body["details"]["thinned"] == 2
    ledger.check_storage()
    ledger.check_storage()
    assert [r.seq for r in store.records(limit=100)][:4] == [0, 2, 3, 5]
    store.acknowledge(11)  # locations 6,7,9,10 newly acknowledged
    assert ledger.check_storage() is None
    assert 7 not in [r.seq for r in store.records(limit=100)]
    assert store.verify_chain() == []
    assert free_space.asked and free_space.asked[0] == store.path.parent


def test_the_storage_mark_flips_only_with_its_event(
        open_store: StoreFactory, write: Writer, free_space: FreeSpace) -> None:
    """The store reports the crossing; the mark is set by the append of the event, atomically."""
    store = open_store(storage_low_bytes=10 * MIB, storage_recovered_bytes=20 * MIB)
    free_space.bytes = MIB
    change = store.check_storage()
    assert change is not None and change.low and change.free_bytes == MIB
    assert not store.status().storage_low  # no event yet: the next check reports it again
    assert store.check_storage() == change
    assert store.status().next_seq == 0  # the store wrote nothing by itself
