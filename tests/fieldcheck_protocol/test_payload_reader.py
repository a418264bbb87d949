"""The fast payload reader against the reference decoder: the same records, the same refusals."""

import copy
import pickle
import struct
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldcheck_protocol import payload_reader
from fieldcheck_protocol.payload_reader import read_payload, read_values
from fieldcheck_protocol.record import (
    Code,
    Kind,
    RecordError,
    decode_payload,
    encode_payload,
    record_values,
    restored,
)
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_fix, sample_record
from tests.fieldcheck_protocol.test_record_properties import records

KEY = fixed_key()


def _outcome(reader: Any, data: bytes) -> tuple[Any, ...]:
    """What a reader makes of ``data``: the record, or the refusal's code and message."""
    try:
        return ("record", reader(data))
    except RecordError as err:
        return ("refused", err.code, err.message)


def _same(data: bytes) -> tuple[Any, ...]:
    """Both readers' outcome, asserted equal; a fast acceptance is always the reference's too."""
    fast = payload_reader._fast(data)
    reference = _outcome(decode_payload, data)
    if fast is not None:
        assert reference == ("record", restored(*fast))
        assert fast == record_values(reference[1])
    assert _outcome(read_payload, data) == reference
    assert _outcome(lambda payload: restored(*read_values(payload)), data) == reference
    return reference


@settings(max_examples=200, deadline=None)
@given(records())
def test_every_valid_record_takes_the_fast_path_and_equals_the_reference(record: Any) -> None:
    data = encode_payload(record)
    values = payload_reader._fast(data)
    assert values is not None  # the fast path is the one taken, not the fallback
    assert values == record_values(record) == read_values(data)
    fast = restored(*values)
    assert fast == record == decode_payload(data) == read_payload(data)
    assert encode_payload(fast) == data
    assert type(fast.fix) is type(record.fix)
    assert dict(fast.body) == dict(record.body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_get_the_reference_outcome(data: bytes) -> None:
    _same(data)


@settings(max_examples=300, deadline=None)
@given(records(), st.data())
def test_byte_changes_get_the_reference_outcome(record: Any, data: st.DataObject) -> None:
    payload = bytearray(encode_payload(record))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] ^= data.draw(st.integers(1, 255))
    _same(bytes(payload))


def _floats_as_ints(item: Any) -> Any:
    if isinstance(item, dict):
        return {key: _floats_as_ints(value) for key, value in item.items()}
    if isinstance(item, float) and item.is_integer() and abs(item) < 2**53:
        return int(item)
    return item


#: Encodings of the same content a canonical writer would not produce (or content the
#: schema does not allow), each a function of the decoded payload map.
REWRITES = {
    "insertion order": lambda raw: cbor2.dumps(dict(reversed(list(raw.items())))),
    "doubles": lambda raw: cbor2.dumps(raw),
    "ints for floats": lambda raw: cbor2.dumps(_floats_as_ints(raw), canonical=True),
    "self-describe tag": lambda raw: b"\xd9\xd9\xf7" + cbor2.dumps(raw, canonical=True),
    "seq as bignum": lambda raw: cbor2.dumps(
        {**raw, "s": cbor2.CBORTag(2, raw["s"].to_bytes(8, "big"))}, canonical=True),
    "time as tag 1": lambda raw: cbor2.dumps({**raw, "t": cbor2.CBORTag(1, raw["t"])},
                                             canonical=True),
    "bool version": lambda raw: cbor2.dumps({**raw, "v": True}, canonical=True),
    "float seq": lambda raw: cbor2.dumps({**raw, "s": float(raw["s"])}, canonical=True),
    "bytes device": lambda raw: cbor2.dumps({**raw, "d": raw["d"].encode()}, canonical=True),
    "long firmware": lambda raw: cbor2.dumps({**raw, "fw": "x" * 65}, canonical=True),
    "undefined gps time": lambda raw: cbor2.dumps({**raw, "g": cbor2.undefined},
                                                  canonical=True),
    "array body": lambda raw: cbor2.dumps({**raw, "b": list(raw["b"].items())}, canonical=True),
    "extra body key": lambda raw: cbor2.dumps({**raw, "b": {**raw["b"], "x": 1}},
                                              canonical=True),
    "int key": lambda raw: cbor2.dumps({**raw, 1: 1}, canonical=True),
    "wide length": lambda raw: _wide_first_text(cbor2.dumps(raw, canonical=True), raw["d"]),
    "trailing byte": lambda raw: cbor2.dumps(raw, canonical=True) + b"\x00",
    # One for each rule of the canonical walk (fieldcheck_protocol.canonical):
    "wide map head": lambda raw: _spliced(raw, head=b"\xb8\x0b"),
    "wide key head": lambda raw: _spliced(raw, keys={"d": b"\x78\x01d"}),
    "wide seq head": lambda raw: _spliced(raw, {"s": b"\x1b" + raw["s"].to_bytes(8, "big")}),
    "wide body head": lambda raw: _spliced(
        raw, {"b": b"\xb8" + bytes((len(raw["b"]),)) + cbor2.dumps(raw["b"], canonical=True)[1:]}),
    "single for a half": lambda raw: _alt(raw, 34.0, "f"),
    "double for a half": lambda raw: _alt(raw, 34.0, "d"),
    "double for a single": lambda raw: _alt(raw, 34.0625, "d"),
    "shared version": lambda raw: _shared_versions(raw, b"\xd8\x1d\x00"),
    "string reference": lambda raw: _shared_versions(raw, b"\xd8\x19"),
    "seq in the length-first order's wrong place": lambda raw: _spliced(
        {key: raw[key] for key in raw if key != "s"}, {"b": cbor2.dumps(raw["b"], canonical=True)
                                                        + b"\x61s" + cbor2.dumps(raw["s"])}),
}


def _spliced(raw: dict[str, Any], values: dict[str, bytes] | None = None,
             keys: dict[str, bytes] | None = None, head: bytes = b"\xab") -> bytes:
    """The canonical payload written item by item, with some keys' or values' encodings (and
    the map head) replaced."""
    values, keys = values or {}, keys or {}
    order = sorted(raw, key=lambda key: (len(key), key))  # short ASCII keys: the canonical order
    return head + b"".join(
        keys.get(key, cbor2.dumps(key)) + values.get(key, cbor2.dumps(raw[key], canonical=True))
        for key in order
    )


def _alt(raw: dict[str, Any], alt: float, width: str) -> bytes:
    """The payload with fix altitude ``alt`` written as a float of ``width`` ("f" or "d")."""
    fix = {**raw["f"], "alt": alt}
    wide = {"f": "\xfa", "d": "\xfb"}[width].encode("latin-1") + struct.pack(">" + width, alt)
    fix_bytes = b"\xa8" + b"".join(
        cbor2.dumps(key) + (wide if key == "alt" else cbor2.dumps(fix[key], canonical=True))
        for key in sorted(fix, key=lambda key: (len(key), key))
    )
    return _spliced({**raw, "f": fix}, {"f": fix_bytes})


def _shared_versions(raw: dict[str, Any], reference: bytes) -> bytes:
    """Firmware and model version the same long text, the second written as ``reference`` to
    the first (a shared value, or a string reference inside its namespace tag)."""
    same = {**raw, "mv": raw["fw"]}
    if reference == b"\xd8\x1d\x00":  # shared value 0, marked with tag 28
        return _spliced(same, {"fw": b"\xd8\x1c" + cbor2.dumps(raw["fw"]), "mv": reference})
    # The string's index in the reference table depends on the strings before it.
    for index in range(64):
        data = b"\xd9\x01\x00" + _spliced(same, {"mv": b"\xd8\x19" + bytes((index,))})
        try:
            if cbor2.loads(data) == same:
                return data
        except (cbor2.CBORDecodeError, IndexError, ValueError):
            continue
    raise AssertionError("no string reference index decodes to the versions")


#: Rewrites whose bytes decode to the payload itself (only its encoding differs).
SAME_CONTENT = {
    "wide map head", "wide key head", "wide seq head", "wide body head", "single for a half",
    "double for a half", "seq in the length-first order's wrong place",
}


def test_the_splice_writes_the_canonical_payload() -> None:
    for kind in Kind:
        data = encode_payload(sample_record(KEY, kind, 300, b"\x01" * 32))
        assert _spliced(cbor2.loads(data)) == data


def _wide_first_text(data: bytes, text: str) -> bytes:
    """``text``'s header written with a one-byte length where the length fits in the header."""
    short = cbor2.dumps(text)
    return data.replace(short, bytes((0x78, len(text))) + text.encode(), 1)


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("rewrite", sorted(REWRITES))
def test_rewritten_payloads_get_the_reference_refusal(kind: Kind, rewrite: str) -> None:
    # A fix with a whole-number altitude, so "ints for floats" has a float to rewrite.
    fix = replace(sample_fix(), alt_m=34.0)
    raw = cbor2.loads(encode_payload(sample_record(KEY, kind, 300, b"\x01" * 32, fix=fix)))
    data = REWRITES[rewrite](raw)
    if rewrite in SAME_CONTENT:
        assert cbor2.loads(data) == raw  # the very same payload, written another way
    outcome = _same(data)
    assert outcome[0] == "refused", rewrite  # every rewrite is one the reference refuses
    assert payload_reader._fast(data) is None


def test_reference_codes_come_through_the_fast_reader() -> None:
    data = encode_payload(sample_record(KEY))
    raw = cbor2.loads(data)
    assert _same(cbor2.dumps(raw))[1] == Code.NON_CANONICAL
    assert _same(cbor2.dumps({**raw, "v": 2}, canonical=True))[1] == Code.UNKNOWN_SCHEMA
    assert _same(cbor2.dumps({**raw, "s": -1}, canonical=True))[1] == Code.INVALID_FIELD
    assert _same(b"\xff")[1] == Code.MALFORMED
    assert _same(read_payload.__name__.encode())[1] == Code.MALFORMED


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("with_fix", [True, False])
def test_records_pickle_as_they_are(kind: Kind, with_fix: bool) -> None:
    # How verify workers send records back to the server: equal, with a read-only body.
    record = sample_record(KEY, kind) if with_fix else sample_record(KEY, kind, fix=None)
    again = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == record and again.kind is kind
    assert type(again.fix) is type(record.fix)
    assert isinstance(again.body, MappingProxyType)
    assert encode_payload(again) == encode_payload(record)
    assert copy.deepcopy(record) == record == copy.copy(record)
