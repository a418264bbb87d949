"""The signed-record export: round trip, key binding, and every way a record can fail to check."""

import cbor2
import pytest

from fieldcheck_protocol.export import (
    Export,
    ExportError,
    decode_export,
    encode_export,
    verify_export,
)
from fieldcheck_protocol.record import ZERO_HASH, Kind
from fieldcheck_protocol.signature import device_id_for, public_key_bytes, record_hash, sign_record
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_record


def _chain(count: int, first: int = 0, seed: int = 7) -> list[bytes]:
    key = fixed_key(seed)
    prev, out = ZERO_HASH, []
    for seq in range(count):
        cose = sign_record(sample_record(key, Kind.EVENT, seq=seq, prev=prev), key)
        prev = record_hash(cose)
        out.append(cose)
    return out[first:]


def _export(records: list[bytes], seed: int = 7) -> Export:
    key = public_key_bytes(fixed_key(seed))
    return Export(device_id_for(key), key, tuple(records))


def test_round_trip_and_verify() -> None:
    export = _export(_chain(5))
    again = decode_export(encode_export(export))
    assert again == export
    assert [r.seq for r in verify_export(again)] == [0, 1, 2, 3, 4]


def test_a_pruned_start_still_verifies() -> None:
    assert [r.seq for r in verify_export(_export(_chain(6, first=3)))] == [3, 4, 5]


def test_a_key_that_does_not_match_the_device_id_is_refused() -> None:
    other = public_key_bytes(fixed_key(8))
    with pytest.raises(ExportError, match="belongs to"):
        encode_export(Export(_export([]).device_id, other, ()))
    forged = cbor2.dumps({"format": "fieldcheck-export/1", "device_id": _export([]).device_id,
                          "public_key": other, "records": []})
    with pytest.raises(ExportError, match="belongs to"):
        decode_export(forged)


def test_records_signed_by_another_key_are_refused() -> None:
    with pytest.raises(ExportError, match="record 0"):
        verify_export(_export(_chain(2, seed=9)))


def test_a_gap_or_a_broken_link_is_refused() -> None:
    chain = _chain(4)
    with pytest.raises(ExportError, match="seq 2 missing"):
        verify_export(_export([chain[0], chain[1], chain[3]]))
    key = fixed_key(7)
    wrong = sign_record(sample_record(key, Kind.EVENT, seq=2, prev=b"\x01" * 32), key)
    with pytest.raises(ExportError, match="prev_hash"):
        verify_export(_export([chain[0], chain[1], wrong]))


@pytest.mark.parametrize("data", [b"", b"\xff\xff", cbor2.dumps([1, 2]),
                                  cbor2.dumps({"format": "other"}),
                                  cbor2.dumps({"format": "fieldcheck-export/1", "device_id": 3})])
def test_unreadable_files_say_so(data: bytes) -> None:
    with pytest.raises(ExportError):
        decode_export(data)
