"""The fast reader of record payloads: :func:`read_payload` accepts exactly what
:func:`~fieldcheck_protocol.record.decode_payload` accepts, at a fraction of its cost.

``decode_payload`` (the reference) decodes, builds a :class:`Record` through every field check,
encodes it again and compares the bytes. This reader decodes once, checks the decoded map with
*exact* types (``type(x) is float``, never a subclass, never an int where a float belongs) and
bounds no looser than the reference's, and checks that the input IS the canonical encoding of that
map by walking the two side by side (:mod:`~fieldcheck_protocol.canonical`: shortest heads and
floats, key order, no tags), without encoding anything. When both pass, the record the
reference would build holds the very same values (nothing needs normalising), so its encoding
is the map's encoding, which is the input: the reference would accept the bytes and return an
equal record, built here without a second round of checks.

Anything else (not CBOR, a tag, a missing key, an int in a float field, a value out of range,
bytes that are not canonical...) goes to the reference, so every refusal is the reference's own,
with its :class:`~fieldcheck_protocol.record.Code` and message. Tests compare the two readers
on valid records and on mutated and non-canonical payloads.
"""

import math
from operator import itemgetter
from typing import Any

import cbor2

from fieldcheck_protocol.canonical import is_canonical
from fieldcheck_protocol.record import (
    FIX_KEYS,
    MAX_MS,
    MAX_SEQ,
    MAX_TEXT,
    SCHEMA_VERSION,
    TOP_KEYS,
    ZERO_HASH,
    BodyField,
    FieldType,
    Kind,
    Record,
    RecordValues,
    decode_payload,
    record_values,
    restored,
)
from fieldcheck_protocol.record_body import BODY_FIELDS

__all__ = ["read_payload", "read_values"]

_KINDS = {kind.value: kind for kind in Kind}
_FIELDS = {kind: {spec.name: spec for spec in BODY_FIELDS[kind]} for kind in Kind}
_REQUIRED = {kind: tuple(s.name for s in BODY_FIELDS[kind] if s.required) for kind in Kind}
_TOP = itemgetter(*TOP_KEYS)
_FIX = itemgetter(*FIX_KEYS)
_MIN_INT = -MAX_SEQ - 1
_ID_BYTES = 64  # device id, firmware and model version: at most 64 UTF-8 bytes (Record)
_DETAILS_ENTRIES = 32
_DETAILS_KEY_BYTES = 23
_DECODE_ERRORS = (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError)


def read_payload(data: bytes) -> Record:
    """The record in payload ``data``; raises what ``decode_payload`` raises for the same bytes."""
    values = _fast(data)
    return restored(*values) if values is not None else decode_payload(data)


def read_values(data: bytes) -> RecordValues:
    """:func:`read_payload` as the record's plain values (what a verify worker sends back)."""
    values = _fast(data)
    return values if values is not None else record_values(decode_payload(data))


def _fast(data: bytes) -> RecordValues | None:
    """The record's values if ``data`` is certainly a canonical, valid payload; None to ask the
    reference. Every value is as decoded: none needs normalising (times are milliseconds)."""
    try:
        raw = cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False)
    except _DECODE_ERRORS:
        return None
    if type(raw) is not dict or len(raw) != len(TOP_KEYS):
        return None
    try:
        v, k, d, s, p, t, g, f, fw, mv, b = _TOP(raw)
    except KeyError:  # len is right but a key is not ours
        return None
    kind = _KINDS.get(k) if type(k) is str else None
    if (
        kind is None
        or type(v) is not int
        or v != SCHEMA_VERSION
        or not (_short(d, _ID_BYTES) and _short(fw, _ID_BYTES) and _short(mv, _ID_BYTES))
        or type(s) is not int
        or not 0 <= s <= MAX_SEQ
        or type(p) is not bytes
        or len(p) != len(ZERO_HASH)
        or (s == 0 and p != ZERO_HASH)
        or not _is_ms(t)
        or not (g is None or _is_ms(g))
        or not _plain_body(kind, b)
    ):
        return None
    fix = None if f is None else _fix(f)
    if (f is not None and fix is None) or not is_canonical(data, raw):
        return None
    return k, d, s, p, t, g, fix, fw, mv, b


def _fix(value: Any) -> tuple[Any, ...] | None:
    """The values (``FIX_KEYS`` order) of a fix map that need no normalising, else None."""
    if type(value) is not dict or len(value) != len(FIX_KEYS):
        return None
    try:
        fix: tuple[Any, ...] = _FIX(value)
    except KeyError:
        return None
    lat, lon, alt, mode, hdop, sats, gt, age = fix
    if (
        not (_finite(lat) and -90.0 <= lat <= 90.0 and _finite(lon) and -180.0 <= lon <= 180.0)
        or not (alt is None or _finite(alt))
        or not (hdop is None or _finite(hdop))
        or type(mode) is not str
        or mode not in ("2d", "3d")
        or not (sats is None or (type(sats) is int and 0 <= sats <= 255))
        or not (_is_ms(gt) and _finite(age) and age >= 0)
    ):
        return None
    return fix


def _plain_body(kind: Kind, body: Any) -> bool:
    """True if ``body`` is a valid body of ``kind`` whose values need no normalising."""
    if type(body) is not dict:
        return False
    fields = _FIELDS[kind]
    for name, value in body.items():
        spec = fields.get(name) if type(name) is str else None
        if spec is None or not _plain_value(spec, value):
            return False
    return all(name in body for name in _REQUIRED[kind])


def _plain_value(spec: BodyField, value: Any) -> bool:
    kind = spec.type
    if kind is FieldType.TEXT:
        return _short(value, MAX_TEXT) and (not spec.choices or value in spec.choices)
    if kind is FieldType.FLOAT:
        return _finite(value)
    if kind is FieldType.INT:
        return _is_int(value)
    if kind is FieldType.BOOL:
        return type(value) is bool
    return _plain_details(value)


def _plain_details(value: Any) -> bool:
    """A flat map of short text keys to text, integer, finite float, bool or null."""
    if type(value) is not dict or len(value) > _DETAILS_ENTRIES:
        return False
    return all(
        _short(key, _DETAILS_KEY_BYTES)
        and (item is None or type(item) is bool or _short(item, MAX_TEXT) or _is_int(item)
             or _finite(item))
        for key, item in value.items()
    )


def _short(value: Any, limit: int) -> bool:
    """Text of at most ``limit`` UTF-8 bytes (a character is at most 4, an ASCII one 1)."""
    return type(value) is str and (
        len(value) <= limit if value.isascii() else len(value.encode("utf-8")) <= limit)


def _is_int(value: Any) -> bool:
    return type(value) is int and _MIN_INT <= value <= MAX_SEQ


def _finite(value: Any) -> bool:
    return type(value) is float and math.isfinite(value)


def _is_ms(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_MS
