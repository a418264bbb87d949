"""Property tests: any valid record round-trips, and decode->encode is byte-identical."""

from datetime import UTC, datetime
from typing import Any

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.record import (
    BODY_FIELDS,
    ZERO_HASH,
    FieldType,
    FixSummary,
    Kind,
    Record,
    RecordError,
    decode_payload,
    encode_payload,
)
from fieldcheck_protocol.signature import device_id_for, public_key_bytes
from tests.fieldcheck_protocol.records_factory import fixed_key

DEVICE = device_id_for(public_key_bytes(fixed_key()))
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)
texts = st.text(max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), floats, texts)
# Detail keys are at most 23 UTF-8 bytes: 5 characters of up to 4 bytes always fit.
details = st.dictionaries(st.text(max_size=5), scalars, max_size=5)

fixes = st.builds(
    FixSummary,
    lat=st.floats(-90, 90), lon=st.floats(-180, 180), alt_m=st.none() | floats,
    mode=st.sampled_from(["2d", "3d"]), hdop=st.none() | floats,
    sats_used=st.none() | st.integers(0, 255), gps_time=times,
    age_s=st.floats(0, 1e9),
)


def _value(kind: FieldType, choices: tuple[str, ...]) -> st.SearchStrategy[Any]:
    if choices:
        return st.sampled_from(choices)
    return {
        FieldType.TEXT: texts, FieldType.INT: st.integers(-(2**63), 2**63 - 1),
        FieldType.FLOAT: floats, FieldType.BOOL: st.booleans(), FieldType.DETAILS: details,
    }[kind]


@st.composite
def bodies(draw: st.DrawFn, kind: Kind) -> dict[str, Any]:
    body = {}
    for spec in BODY_FIELDS[kind]:
        if spec.required or draw(st.booleans()):
            body[spec.name] = draw(_value(spec.type, spec.choices))
    return body


@st.composite
def records(draw: st.DrawFn) -> Record:
    kind = draw(st.sampled_from(list(Kind)))
    seq = draw(st.integers(0, 2**63 - 1))
    prev = ZERO_HASH if seq == 0 else draw(st.binary(min_size=32, max_size=32))
    return Record(
        kind=kind, device_id=DEVICE, seq=seq, prev_hash=prev, device_time=draw(times),
        gps_time=draw(st.none() | times), fix=draw(st.none() | fixes),
        firmware_version=draw(texts), model_version=draw(texts), body=draw(bodies(kind)),
    )


def _keys_in_bytewise_order(item: Any) -> bool:
    if isinstance(item, dict):
        encoded = [cbor2.dumps(k) for k in item]
        return encoded == sorted(encoded) and all(map(_keys_in_bytewise_order, item.values()))
    return True


@settings(max_examples=150, deadline=None)
@given(records())
def test_encode_decode_round_trip(record: Record) -> None:
    data = encode_payload(record)
    decoded = decode_payload(data)
    assert decoded == record
    assert encode_payload(decoded) == data
    assert _keys_in_bytewise_order(cbor2.loads(data))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_decoder(data: bytes) -> None:
    # The property: nothing but RecordError escapes, and whatever decodes re-encodes exactly.
    try:
        record = decode_payload(data)
    except RecordError:
        return
    assert encode_payload(record) == data


@settings(max_examples=100, deadline=None)
@given(records(), st.data())
def test_any_single_byte_change_is_refused_or_changes_the_record(record: Record,
                                                                 data: st.DataObject) -> None:
    payload = bytearray(encode_payload(record))
    index = data.draw(st.integers(0, len(payload) - 1))
    payload[index] ^= data.draw(st.integers(1, 255))
    try:
        changed = decode_payload(bytes(payload))
    except RecordError:
        return
    assert changed != record
