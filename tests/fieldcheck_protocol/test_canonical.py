"""The canonical walk against cbor2's own deterministic encoder: the same answer for every input,
and a refusal for each way of writing a value other than its deterministic encoding."""

import struct
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.canonical import is_canonical

keys = st.text(max_size=5)  # at most 20 UTF-8 bytes: every key the walk covers
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.text(max_size=30), st.binary(max_size=40),
)
values = st.recursive(
    scalars, lambda inner: st.dictionaries(keys, inner, max_size=6), max_leaves=30
)


def _reference(data: bytes) -> bool | None:
    """What the encode-and-compare check says of ``data``; None if it is not CBOR."""
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError):
        return None
    try:
        return cbor2.dumps(value, canonical=True) == data
    except (cbor2.CBOREncodeError, ValueError, TypeError):
        return False


def _agrees(data: bytes) -> None:
    reference = _reference(data)
    if reference is not None:
        walked = is_canonical(data, cbor2.loads(data))
        assert walked == reference or (not walked and reference and _outside(cbor2.loads(data)))


def _outside(value: Any) -> bool:
    """A value the walk does not cover (it answers False and the caller asks the reference)."""
    if isinstance(value, dict):
        return any(
            type(key) is not str or len(key.encode()) > 23 or _outside(item)
            for key, item in value.items()
        )
    return type(value) not in (type(None), bool, int, float, str, bytes) or (
        type(value) is int and not -(2**64) <= value < 2**64)


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_deterministic_encoding_is_canonical(value: Any) -> None:
    data = cbor2.dumps(value, canonical=True)
    assert is_canonical(data, cbor2.loads(data))


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_plain_encoding_gets_the_reference_answer(value: Any) -> None:
    _agrees(cbor2.dumps(value))  # doubles for every float, keys as inserted


@settings(max_examples=400, deadline=None)
@given(values, st.data())
def test_changed_bytes_get_the_reference_answer(value: Any, data: st.DataObject) -> None:
    encoded = bytearray(cbor2.dumps(value, canonical=True))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(encoded) - 1))
        encoded[index] ^= data.draw(st.integers(1, 255))
    _agrees(bytes(encoded))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_arbitrary_bytes_get_the_reference_answer(data: bytes) -> None:
    _agrees(data)


HALF = struct.pack(">e", 1.5)
NAME = "facenet-int8-1"  # a text long enough that a reference to it is shorter than it

#: Each rule of the deterministic encoding, broken once: (bytes, the value they decode to).
BROKEN: dict[str, tuple[bytes, Any]] = {
    "integer argument one byte longer": (b"\x18\x05", 5),
    "integer argument in 8 bytes": (b"\x1b" + (300).to_bytes(8, "big"), 300),
    "negative integer argument longer": (b"\x39\x00\x09", -10),
    "text length one byte longer": (b"\x78\x02hi", "hi"),
    "bytes length two bytes longer": (b"\x59\x00\x01\x00", b"\x00"),
    "map length one byte longer": (b"\xb8\x01\x61a\x01", {"a": 1}),
    "map key length longer": (b"\xa1\x78\x01a\x01", {"a": 1}),
    "keys bytewise but not length first": (b"\xa2\x62aa\x01\x61b\x02", {"aa": 1, "b": 2}),
    "keys in reverse order": (b"\xa2\x61b\x02\x61a\x01", {"a": 1, "b": 2}),
    "keys in reverse order, equal values": (b"\xa2\x61b\x01\x61a\x01", {"a": 1, "b": 1}),
    "single for a half": (b"\xfa" + struct.pack(">f", 1.5), 1.5),
    "double for a half": (b"\xfb" + struct.pack(">d", 1.5), 1.5),
    "double for a single": (b"\xfb" + struct.pack(">d", 34.0625), 34.0625),
    "double for negative zero": (b"\xfb" + struct.pack(">d", -0.0), -0.0),
    "self-describe tag": (b"\xd9\xd9\xf7\x05", 5),
    "bignum for a small integer": (b"\xc2\x41\x05", 5),
    "negative bignum": (b"\xc3\x41\x09", -10),
    "shared value": (
        b"\xa2\x61a\xd8\x1c" + cbor2.dumps(NAME) + b"\x61b\xd8\x1d\x00", {"a": NAME, "b": NAME}),
    "string reference (shorter than the string)": (
        b"\xd9\x01\x00\xa2\x61a" + cbor2.dumps(NAME) + b"\x61b\xd8\x19\x00",
        {"a": NAME, "b": NAME}),
    "indefinite text": (b"\x7f\x61h\x61i\xff", "hi"),
    "indefinite map": (b"\xbf\x61a\x01\xff", {"a": 1}),
    "true in two bytes": (b"\xf8\x15", None),  # cbor2 refuses it; listed for the record
    "trailing byte after the value": (b"\x05\x00", 5),
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_broken_rule_is_refused_like_the_reference(rule: str) -> None:
    data, value = BROKEN[rule]
    try:
        decoded = cbor2.loads(data)
    except cbor2.CBORDecodeError:
        assert rule == "true in two bytes"
        return
    if rule != "trailing byte after the value":
        assert decoded == value  # the same value, written another way
        assert cbor2.dumps(decoded, canonical=True) != data
    assert not is_canonical(data, decoded)
    assert is_canonical(cbor2.dumps(value, canonical=True), value)


def test_the_rules_hold_where_the_widths_change() -> None:
    for number in (23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1):
        for value in (number, -1 - number):
            assert is_canonical(cbor2.dumps(value, canonical=True), value)
    for size in (23, 24, 255, 256):
        text = "x" * size
        assert is_canonical(cbor2.dumps(text, canonical=True), text)
    for number in (65504.0, 65520.0, 2.0**-24, 2.0**-25, 3.4028234663852886e38, 1e300, -0.0):
        assert is_canonical(cbor2.dumps(number, canonical=True), number)


def test_values_outside_the_walk_are_not_canonical() -> None:
    for value in ([1, 2], 2**64, {1: 2}, {"k" * 24: 1}, float("nan"), float("inf")):
        assert not is_canonical(cbor2.dumps(value, canonical=True), value)
    assert not is_canonical(HALF, None)
