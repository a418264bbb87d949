"""Record schema v1: validation, deterministic CBOR bytes and strict decoding."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import cbor2
import pytest

from fieldcheck_protocol.record import (
    BODY_FIELDS,
    ZERO_HASH,
    Code,
    Kind,
    RecordError,
    decode_payload,
    encode_payload,
    from_ms,
    to_json,
    to_ms,
)
from tests.fieldcheck_protocol.records_factory import WHEN, fixed_key, sample_fix, sample_record

KEY = fixed_key()


def _raw(**changes: object) -> bytes:
    """A valid payload re-encoded with top-level keys changed (None value = key removed)."""
    payload = dict(cbor2.loads(encode_payload(sample_record(KEY))))
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    return cbor2.dumps(payload, canonical=True)


def _code(data: bytes) -> str:
    with pytest.raises(RecordError) as caught:
        decode_payload(data)
    return caught.value.code


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_round_trips(kind: Kind) -> None:
    record = sample_record(KEY, kind, seq=5, prev=b"\x01" * 32)
    data = encode_payload(record)
    assert decode_payload(data) == record
    assert encode_payload(decode_payload(data)) == data


def test_times_are_integer_milliseconds_floored() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 123999, tzinfo=timezone(timedelta(hours=2)))
    record = sample_record(KEY, device_time=when, gps_time=None, fix=None)
    assert record.device_time == datetime(2026, 1, 2, 1, 4, 5, 123000, tzinfo=UTC)
    payload = cbor2.loads(encode_payload(record))
    assert payload["t"] == int(datetime(2026, 1, 2, 1, 4, 5, 123000, tzinfo=UTC).timestamp() * 1000)
    assert payload["g"] is None and payload["f"] is None


def test_naive_time_is_refused() -> None:
    with pytest.raises(RecordError) as caught:
        sample_record(KEY, device_time=datetime(2026, 1, 1))
    assert caught.value.code == Code.INVALID_FIELD


def test_floats_use_shortest_exact_width_and_ints_become_floats() -> None:
    record = sample_record(KEY, body={"verdict": "match", "score": 1, "quality": 0.5})
    assert record.body["score"] == 1.0 and isinstance(record.body["score"], float)
    data = encode_payload(record)
    # 1.0 and 0.5 fit a half-precision float exactly (f9 3c00 / f9 3800); lat needs a double.
    assert bytes.fromhex("6573636f7265f93c00") in data
    assert bytes.fromhex("677175616c697479f93800") in data
    assert b"\xfb" + cbor2.dumps(52.520008)[1:] in data


def test_map_keys_are_in_rfc8949_bytewise_order() -> None:
    data = encode_payload(sample_record(KEY, Kind.EVENT))
    top = cbor2.loads(data)
    encoded = [cbor2.dumps(k) for k in top]
    assert encoded == sorted(encoded)
    assert all(isinstance(k, str) and len(k.encode()) <= 23 for k in top)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\x00", Code.MALFORMED),
        (b"", Code.MALFORMED),
        (cbor2.dumps([1, 2]), Code.MALFORMED),
        (_raw(v=2), Code.UNKNOWN_SCHEMA),
        (_raw(v=None), Code.UNKNOWN_SCHEMA),
        (_raw(fw=None), Code.MISSING_FIELD),
        (_raw(extra=1), Code.UNKNOWN_FIELD),
        (_raw(s=-1), Code.INVALID_FIELD),
        (_raw(s="1"), Code.INVALID_FIELD),
        (_raw(p=b"\x00" * 31), Code.INVALID_FIELD),
        (_raw(t=1.5), Code.INVALID_FIELD),
        (_raw(k="photo"), Code.INVALID_FIELD),
        (_raw(b={"verdict": "guilty"}), Code.INVALID_FIELD),
        (_raw(b={"score": 0.5}), Code.MISSING_FIELD),
        (_raw(b={"verdict": "match", "image": b"x"}), Code.UNKNOWN_FIELD),
        (_raw(b={"verdict": "match", "score": None}), Code.INVALID_FIELD),
        (_raw(f={"lat": 1.0}), Code.MISSING_FIELD),
    ],
)
def test_bad_payloads_are_refused_with_stable_codes(data: bytes, code: Code) -> None:
    assert _code(data) == code


def test_non_canonical_encodings_are_refused() -> None:
    data = encode_payload(sample_record(KEY))
    payload = cbor2.loads(data)
    assert _code(data + b"\x00") == Code.NON_CANONICAL  # trailing bytes
    # Same content, keys in insertion order instead of deterministic order.
    reordered = cbor2.dumps(dict(reversed(list(payload.items()))))
    assert reordered != data
    assert _code(reordered) == Code.NON_CANONICAL
    # A float written as a double where a half-precision float holds it exactly.
    fix = dict(payload["f"])
    fix["age"] = 0.5
    canonical = cbor2.dumps({**payload, "f": fix}, canonical=True)
    double = b"cage\xfb" + bytes.fromhex("3fe0000000000000")
    widened = canonical.replace(b"cage\xf9\x38\x00", double)
    assert widened != canonical
    assert decode_payload(canonical).fix is not None
    assert _code(widened) == Code.NON_CANONICAL


def test_indefinite_and_duplicate_encodings_are_malformed() -> None:
    data = encode_payload(sample_record(KEY))
    # Indefinite-length map header (0xbf ... 0xff) around the same items.
    indefinite = b"\xbf" + data[1:] + b"\xff"
    assert _code(indefinite) == Code.MALFORMED
    duplicated = b"\xa2" + cbor2.dumps("v") + b"\x01" + cbor2.dumps("v") + b"\x01"
    assert _code(duplicated) == Code.MALFORMED


def test_record_validation_rejects_bad_values() -> None:
    with pytest.raises(RecordError, match="seq 0 must have an all-zero prev_hash"):
        sample_record(KEY, seq=0, prev=b"\x01" * 32)
    with pytest.raises(RecordError, match="finite"):
        sample_record(KEY, body={"verdict": "match", "score": float("nan")})
    with pytest.raises(RecordError, match="out of range"):
        sample_record(KEY, fix=sample_fix().__class__(
            lat=91.0, lon=0.0, alt_m=None, mode="2d", hdop=None, sats_used=None,
            gps_time=WHEN, age_s=0.0))
    with pytest.raises(RecordError) as caught:
        sample_record(KEY, Kind.EVENT, body={"type": "boot", "details": {"k" * 24: 1}})
    assert caught.value.code == Code.INVALID_FIELD


def test_body_tables_declare_every_kind() -> None:
    assert set(BODY_FIELDS) == {k.value for k in Kind}
    for fields in BODY_FIELDS.values():
        names = [f.name for f in fields]
        assert len(names) == len(set(names))
        assert all(len(n.encode()) <= 23 for n in names)


def test_json_form_carries_the_same_content() -> None:
    record = sample_record(KEY, Kind.EVENT, seq=3, prev=b"\xab" * 32)
    doc = to_json(record)
    assert doc["prev_hash"] == "ab" * 32
    assert doc["device_time"] == "2026-11-24T12:00:00.250Z"
    assert doc["body"] == {"type": "fix_lost", "details": {"last_sats": 3, "hdop": 4.5}}
    assert doc["fix"]["lat"] == 52.520008
    assert to_json(sample_record(KEY))["prev_hash"] == ZERO_HASH.hex()


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC),  # kept as it is
        datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC),  # floored to the millisecond
        datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC).replace(fold=1),
        datetime(2026, 11, 24, 13, 0, tzinfo=timezone(timedelta(hours=1))),  # to UTC
        datetime(1970, 1, 1, tzinfo=UTC),
    ],
)
def test_record_times_are_whole_utc_milliseconds(when: datetime) -> None:
    record = dataclasses.replace(sample_record(KEY), device_time=when)
    expected = from_ms(to_ms(when), "t")
    assert record.device_time == expected
    assert record.device_time.tzinfo is UTC and record.device_time.fold == 0
    assert decode_payload(encode_payload(record)) == record
