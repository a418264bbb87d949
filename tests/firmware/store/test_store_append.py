"""The store's side of an append: it checks the chain inside its transaction and invents nothing."""

import dataclasses

import pytest

from fieldcheck_protocol.record import ZERO_HASH, Kind, Record, to_ms
from fieldcheck_protocol.signature import record_hash, sign_record
from firmware.errors import StoreError
from firmware.store.backends.sqlite import SqliteRecordStore
from firmware.store.base import Entry, Head
from firmware.store.identity import DeviceIdentity
from tests.fieldcheck_protocol.records_factory import WHEN as NOW
from tests.firmware.store.store_fixtures import StoreFactory, Writer


def entry(identity: DeviceIdentity, seq: int, prev_hash: bytes) -> Entry:
    """A signed event record as the ledger would hand it over."""
    record = Record(kind=Kind.EVENT, device_id=identity.device_id, seq=seq, prev_hash=prev_hash,
                    device_time=NOW, gps_time=None, fix=None, firmware_version="test",
                    model_version="test-model", body={"type": "boot"})
    cose = sign_record(record, identity.private_key)
    return Entry(seq=seq, prev_hash=prev_hash, kind=Kind.EVENT, device_ms=to_ms(NOW),
                 hash=record_hash(cose), cose=cose)


def test_the_store_keeps_the_bytes_it_is_given(open_store: StoreFactory,
                                               identity: DeviceIdentity) -> None:
    store = open_store()
    assert store.head() == Head(0, ZERO_HASH)
    first = entry(identity, 0, ZERO_HASH)
    store.append(first)
    assert store.head() == Head(1, first.hash)
    assert [r.cose for r in store.records()] == [first.cose]  # byte for byte, nothing added


@pytest.mark.parametrize("wrong", ["seq_ahead", "seq_behind", "prev_hash", "hash"])
def test_an_entry_that_does_not_continue_the_chain_is_refused(
        open_store: StoreFactory, identity: DeviceIdentity, write: Writer, wrong: str) -> None:
    store = open_store()
    kept = [write(store, Kind.EVENT, {"type": "boot"}).cose for _ in range(2)]
    head = store.head()
    bad = {
        "seq_ahead": entry(identity, head.next_seq + 1, head.last_hash),
        "seq_behind": entry(identity, head.next_seq - 1, head.last_hash),
        "prev_hash": entry(identity, head.next_seq, bytes(32)),
        "hash": dataclasses.replace(entry(identity, head.next_seq, head.last_hash),
                                    hash=bytes(32)),
    }[wrong]
    with pytest.raises(StoreError, match="not stored"):
        store.append(bad)
    assert store.head() == head
    assert [r.cose for r in store.records()] == kept
    assert store.verify_chain() == []


def test_a_second_writer_racing_for_the_same_seq_loses(tmp_path, open_store: StoreFactory,
                                                       identity: DeviceIdentity) -> None:
    """Two processes on one file: the one whose seq is taken gets a StoreError, not a fork."""
    ours = open_store()
    theirs = open_store()
    head = ours.head()
    theirs.append(entry(identity, head.next_seq, head.last_hash))
    with pytest.raises(StoreError, match="another process writes this store"):
        ours.append(entry(identity, head.next_seq, head.last_hash))
    assert isinstance(ours, SqliteRecordStore) and ours.verify_chain() == []
