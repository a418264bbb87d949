"""Record schema v1 and its deterministic CBOR encoding (RFC 8949 §4.2.1 core deterministic).

Encoding decisions, fixed for schema version 1 (the server and any re-implementation rely on them):

* The payload is one CBOR map with short **text** keys (``v k d s p t g f fw mv b``; see
  ``TOP_KEYS``). Every key in every map of the payload is a text string of at most 23 UTF-8
  bytes, so its encoding starts with a one-byte header that carries its length. With such keys
  the length-first order cbor2 applies (RFC 7049 canonical) and the bytewise-lexicographic order
  of RFC 8949 §4.2.1 are the same order, which is why the restriction exists.
* Times are **integer milliseconds since 1970-01-01T00:00:00Z** (a plain unsigned integer, no
  tag). A :class:`Record` keeps times at millisecond precision: finer parts are floored when it
  is built, so decode(encode(r)) == r holds for every record.
* Floats are IEEE 754 binary64 values written in the shortest of half/single/double precision
  that holds the value exactly (cbor2 ``canonical=True``). NaN and infinities are refused.
  An integer given for a float field is stored as a float, so its encoding is always a float.
* Absent optional top-level and fix values are CBOR ``null`` (the key is always present);
  absent optional body fields are left out (``null`` is not allowed in a body).
* :func:`decode_payload` accepts only bytes that re-encode to themselves, so every accepted
  payload has exactly one encoding.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import cbor2

from fieldcheck_protocol.record_body import BODY_FIELDS, BodyField, FieldType

__all__ = [
    "BODY_FIELDS", "BodyField", "Code", "FieldType", "FixSummary", "Kind", "Record",
    "RecordError", "RecordValues", "SCHEMA_VERSION", "ZERO_HASH", "decode_payload",
    "encode_payload", "from_ms", "record_values", "restored", "to_json", "to_ms",
]

SCHEMA_VERSION = 1
HASH_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)
MAX_SEQ = 2**63 - 1
MAX_TEXT = 256
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MAX_MS = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // _MS
#: The latest time a record may carry, in epoch milliseconds (9999-12-31).
MAX_MS = _MAX_MS
_LAST = EPOCH + _MAX_MS * _MS

# Payload keys (schema v1). Kept short because every record carries them.
TOP_KEYS = ("v", "k", "d", "s", "p", "t", "g", "f", "fw", "mv", "b")
FIX_KEYS = ("lat", "lon", "alt", "mode", "hdop", "sats", "gt", "age")


class Kind(StrEnum):
    """What a record reports."""

    CHECKIN = "checkin"
    LOCATION = "location"
    EVENT = "event"


class Code(StrEnum):
    """Stable :class:`RecordError` codes; the server reports them unchanged."""

    MALFORMED = "malformed"
    NON_CANONICAL = "non_canonical"
    UNKNOWN_SCHEMA = "unknown_schema"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    INVALID_FIELD = "invalid_field"
    NOT_SIGN1 = "not_sign1"
    BAD_HEADER = "bad_header"
    BAD_SIGNATURE = "bad_signature"
    WRONG_DEVICE = "wrong_device"


class RecordError(Exception):
    """A record cannot be built, encoded, decoded or verified; ``code`` is a stable string."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = message


def to_ms(when: datetime) -> int:
    """Integer milliseconds since the Unix epoch (floored) for an aware datetime."""
    if when.tzinfo is not UTC and (when.tzinfo is None or when.utcoffset() is None):
        raise RecordError(Code.INVALID_FIELD, f"time {when.isoformat()} has no time zone")
    ms = (when - EPOCH) // _MS
    if not 0 <= ms <= _MAX_MS:
        raise RecordError(Code.INVALID_FIELD, f"time {when.isoformat()} is out of range")
    return ms


def from_ms(ms: Any, where: str) -> datetime:
    """The UTC datetime for integer milliseconds since the epoch; refuses anything else."""
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= _MAX_MS:
        raise RecordError(Code.INVALID_FIELD, f"{where} must be epoch milliseconds, got {ms!r}")
    return EPOCH + ms * _MS


def _utc_ms(when: Any, where: str) -> datetime:
    if not isinstance(when, datetime):
        raise RecordError(Code.INVALID_FIELD, f"{where} must be a datetime, got {when!r}")
    if (
        type(when) is datetime
        and when.tzinfo is UTC
        and not when.fold
        and not when.microsecond % 1000
        and EPOCH <= when <= _LAST
    ):
        return when  # already what from_ms(to_ms(when)) gives (every decoded time is)
    try:
        return from_ms(to_ms(when), where)
    except RecordError as err:
        raise RecordError(err.code, f"{where}: {err.message}") from None


def _float(value: Any, where: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(Code.INVALID_FIELD, f"{where} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise RecordError(Code.INVALID_FIELD, f"{where} must be finite, got {value!r}")
    return number


def _int(value: Any, where: str, low: int = -MAX_SEQ - 1, high: int = MAX_SEQ) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RecordError(Code.INVALID_FIELD, f"{where} must be an integer in [{low}, {high}]")
    return value


def _text(value: Any, where: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value.encode("utf-8")) > limit:
        raise RecordError(Code.INVALID_FIELD, f"{where} must be text of at most {limit} bytes")
    return value


def _set(obj: object, name: str, value: Any) -> None:
    # Frozen dataclasses normalise their own fields once, in __post_init__.
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class FixSummary:
    """The GPS fix a record was taken with; ``age_s`` is how old it was at record time."""

    lat: float
    lon: float
    alt_m: float | None
    mode: str
    hdop: float | None
    sats_used: int | None
    gps_time: datetime
    age_s: float

    def __post_init__(self) -> None:
        lat = _float(self.lat, "fix.lat")
        lon = _float(self.lon, "fix.lon")
        if lat is None or not -90.0 <= lat <= 90.0 or lon is None or not -180.0 <= lon <= 180.0:
            raise RecordError(Code.INVALID_FIELD, "fix.lat/lon out of range")
        if self.mode not in ("2d", "3d"):
            raise RecordError(Code.INVALID_FIELD, f"fix.mode must be '2d' or '3d': {self.mode!r}")
        age = _float(self.age_s, "fix.age_s")
        if age is None or age < 0:
            raise RecordError(Code.INVALID_FIELD, "fix.age_s must be >= 0")
        if self.sats_used is not None:
            _int(self.sats_used, "fix.sats_used", 0, 255)
        _set(self, "lat", lat)
        _set(self, "lon", lon)
        _set(self, "alt_m", _float(self.alt_m, "fix.alt_m", optional=True))
        _set(self, "hdop", _float(self.hdop, "fix.hdop", optional=True))
        _set(self, "age_s", age)
        _set(self, "gps_time", _utc_ms(self.gps_time, "fix.gps_time"))


@dataclass(frozen=True)
class Record:
    """One signed fact. Built values are validated and normalised (times to whole ms, UTC)."""

    kind: Kind
    device_id: str
    seq: int
    prev_hash: bytes
    device_time: datetime
    gps_time: datetime | None
    fix: FixSummary | None
    firmware_version: str
    model_version: str
    body: Mapping[str, Any]

    def __post_init__(self) -> None:
        try:
            kind = Kind(self.kind)
        except ValueError:
            raise RecordError(Code.INVALID_FIELD, f"unknown kind {self.kind!r}") from None
        _text(self.device_id, "device_id", 64)
        _int(self.seq, "seq", 0, MAX_SEQ)
        if not isinstance(self.prev_hash, bytes) or len(self.prev_hash) != HASH_SIZE:
            raise RecordError(Code.INVALID_FIELD, "prev_hash must be 32 bytes")
        if self.seq == 0 and self.prev_hash != ZERO_HASH:
            raise RecordError(Code.INVALID_FIELD, "seq 0 must have an all-zero prev_hash")
        if self.fix is not None and not isinstance(self.fix, FixSummary):
            raise RecordError(Code.INVALID_FIELD, "fix must be a FixSummary or None")
        _text(self.firmware_version, "firmware_version", 64)
        _text(self.model_version, "model_version", 64)
        _set(self, "kind", kind)
        _set(self, "device_time", _utc_ms(self.device_time, "device_time"))
        if self.gps_time is not None:
            _set(self, "gps_time", _utc_ms(self.gps_time, "gps_time"))
        _set(self, "body", MappingProxyType(_check_body(kind, self.body)))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its :func:`record_values`: one call rebuilds it, unchecked."""
        return restored, record_values(self)


#: A record as plain values, in field order: the kind's value, device id, seq, prev hash, device
#: time and GPS time in epoch milliseconds, the fix as a tuple (``FIX_KEYS`` order: lat, lon,
#: alt, mode, hdop, sats, gps time in ms, age) or None, firmware and model version, the body map.
#: What verify workers send back: plain values pickle several times faster than datetimes.
RecordValues = tuple[
    str, str, int, bytes, int, int | None, tuple[Any, ...] | None, str, str, dict[str, Any]
]

_KINDS = {kind.value: kind for kind in Kind}


def record_values(record: Record) -> RecordValues:
    """The record's plain values (see :data:`RecordValues`)."""
    fix = record.fix
    return (
        record.kind.value, record.device_id, record.seq, record.prev_hash,
        to_ms(record.device_time), None if record.gps_time is None else to_ms(record.gps_time),
        None if fix is None else (
            fix.lat, fix.lon, fix.alt_m, fix.mode, fix.hdop, fix.sats_used, to_ms(fix.gps_time),
            fix.age_s,
        ),
        record.firmware_version, record.model_version, dict(record.body),
    )


def restored(kind: str, device_id: str, seq: int, prev_hash: bytes, device_ms: int,
             gps_ms: int | None, fix: tuple[Any, ...] | None, firmware_version: str,
             model_version: str, body: dict[str, Any]) -> Record:
    """The record of :func:`record_values` (of a record, or read from a checked payload), as it
    was: the values were checked and normalised, so they are not checked again. ``body`` is
    kept (behind a read-only view), not copied."""
    summary = None
    if fix is not None:
        lat, lon, alt_m, mode, hdop, sats_used, fix_ms, age_s = fix
        summary = object.__new__(FixSummary)
        vars(summary).update(
            lat=lat, lon=lon, alt_m=alt_m, mode=mode, hdop=hdop, sats_used=sats_used,
            gps_time=EPOCH + fix_ms * _MS, age_s=age_s,
        )
    record = object.__new__(Record)
    vars(record).update(
        kind=_KINDS[kind], device_id=device_id, seq=seq, prev_hash=prev_hash,
        device_time=EPOCH + device_ms * _MS,
        gps_time=None if gps_ms is None else EPOCH + gps_ms * _MS, fix=summary,
        firmware_version=firmware_version, model_version=model_version,
        body=MappingProxyType(body),
    )
    return record


def _check_body(kind: Kind, body: Any) -> dict[str, Any]:
    """Validate ``body`` against the kind's declared fields; returns a normalised copy."""
    if not isinstance(body, Mapping):
        raise RecordError(Code.INVALID_FIELD, f"{kind} body must be a map")
    fields = {f.name: f for f in BODY_FIELDS[kind]}
    unknown = sorted(str(k) for k in body if k not in fields)
    if unknown:
        raise RecordError(Code.UNKNOWN_FIELD, f"{kind} body has unknown field(s) {unknown}")
    missing = sorted(f.name for f in fields.values() if f.required and f.name not in body)
    if missing:
        raise RecordError(Code.MISSING_FIELD, f"{kind} body lacks {missing}")
    return {name: _check_value(fields[name], value, kind) for name, value in body.items()}


def _check_value(spec: BodyField, value: Any, kind: Kind) -> Any:
    where = f"{kind}.{spec.name}"
    if spec.type is FieldType.TEXT:
        text = _text(value, where)
        if spec.choices and text not in spec.choices:
            raise RecordError(Code.INVALID_FIELD, f"{where}={text!r} is not one of {spec.choices}")
        return text
    if spec.type is FieldType.FLOAT:
        return _float(value, where)
    if spec.type is FieldType.INT:
        return _int(value, where)
    if spec.type is FieldType.BOOL:
        if not isinstance(value, bool):
            raise RecordError(Code.INVALID_FIELD, f"{where} must be true or false")
        return value
    return _check_details(value, where)


def _check_details(value: Any, where: str) -> dict[str, Any]:
    """A flat map of short text keys to scalars (text, integer, finite float, bool, null)."""
    if not isinstance(value, Mapping) or len(value) > 32:
        raise RecordError(Code.INVALID_FIELD, f"{where} must be a map of at most 32 entries")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _text(key, f"{where} key", 23)
        if item is None or isinstance(item, bool):
            out[name] = item
        elif isinstance(item, str):
            out[name] = _text(item, f"{where}.{name}")
        elif isinstance(item, int):
            out[name] = _int(item, f"{where}.{name}")
        else:
            out[name] = _float(item, f"{where}.{name}")
    return out


def _fix_map(fix: FixSummary) -> dict[str, Any]:
    return {
        "lat": fix.lat, "lon": fix.lon, "alt": fix.alt_m, "mode": fix.mode, "hdop": fix.hdop,
        "sats": fix.sats_used, "gt": to_ms(fix.gps_time), "age": fix.age_s,
    }


def encode_payload(record: Record) -> bytes:
    """The record's deterministic CBOR bytes (schema v1); see the module docstring."""
    payload = {
        "v": SCHEMA_VERSION,
        "k": record.kind.value,
        "d": record.device_id,
        "s": record.seq,
        "p": record.prev_hash,
        "t": to_ms(record.device_time),
        "g": None if record.gps_time is None else to_ms(record.gps_time),
        "f": None if record.fix is None else _fix_map(record.fix),
        "fw": record.firmware_version,
        "mv": record.model_version,
        "b": dict(record.body),
    }
    return cbor2.dumps(payload, canonical=True)


def _keys(mapping: Any, expected: tuple[str, ...], where: str) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise RecordError(Code.MALFORMED, f"{where} must be a CBOR map")
    if len(mapping) == len(expected) and all(key in mapping for key in expected):
        return mapping  # exactly the expected keys (they are distinct)
    missing = sorted(set(expected) - set(mapping))
    if missing:
        raise RecordError(Code.MISSING_FIELD, f"{where} lacks {missing}")
    extra = sorted(str(k) for k in mapping if k not in expected)
    if extra:
        raise RecordError(Code.UNKNOWN_FIELD, f"{where} has unknown key(s) {extra}")
    return mapping


def _fix_from(value: Any) -> FixSummary | None:
    if value is None:
        return None
    m = _keys(value, FIX_KEYS, "fix")
    return FixSummary(
        lat=m["lat"], lon=m["lon"], alt_m=m["alt"], mode=m["mode"], hdop=m["hdop"],
        sats_used=m["sats"], gps_time=from_ms(m["gt"], "fix.gt"), age_s=m["age"],
    )


def decode_payload(data: bytes) -> Record:
    """Parse payload bytes strictly: malformed, unknown schema, wrong fields or non-canonical
    bytes raise :class:`RecordError`."""
    try:
        raw = cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as err:
        raise RecordError(Code.MALFORMED, f"payload is not valid CBOR: {err}") from None
    if not isinstance(raw, Mapping):
        raise RecordError(Code.MALFORMED, "payload must be a CBOR map")
    if raw.get("v") != SCHEMA_VERSION or isinstance(raw.get("v"), bool):
        raise RecordError(Code.UNKNOWN_SCHEMA, f"schema version {raw.get('v')!r} is not 1")
    m = _keys(raw, TOP_KEYS, "payload")
    record = Record(
        kind=m["k"], device_id=m["d"], seq=m["s"], prev_hash=m["p"],
        device_time=from_ms(m["t"], "t"),
        gps_time=None if m["g"] is None else from_ms(m["g"], "g"),
        fix=_fix_from(m["f"]), firmware_version=m["fw"], model_version=m["mv"],
        body=m["b"],
    )
    if encode_payload(record) != data:
        raise RecordError(Code.NON_CANONICAL, "payload is not in deterministic CBOR encoding")
    return record


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_json(record: Record) -> dict[str, Any]:
    """The same content as plain JSON types (times ISO 8601, hash hex), for export and bench."""
    fix = record.fix
    return {
        "schema": SCHEMA_VERSION, "kind": record.kind.value, "device_id": record.device_id,
        "seq": record.seq, "prev_hash": record.prev_hash.hex(),
        "device_time": _iso(record.device_time), "gps_time": _iso(record.gps_time),
        "fix": None if fix is None else {
            "lat": fix.lat, "lon": fix.lon, "alt_m": fix.alt_m, "mode": fix.mode,
            "hdop": fix.hdop, "sats_used": fix.sats_used, "gps_time": _iso(fix.gps_time),
            "age_s": fix.age_s,
        },
        "firmware_version": record.firmware_version, "model_version": record.model_version,
        "body": dict(record.body),
    }
