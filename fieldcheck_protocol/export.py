"""The signed-record export: one device's COSE_Sign1 records with the public key that checks them.

Both ends write it (``fieldcheck records export --format cose`` on the server,
``fieldcheck-device records export --format cose`` on a unit that cannot reach its server) and
anyone can check it alone: the device id is derived from the public key, every record is signed
by that key, and each record's ``prev_hash`` is the sha256 of the one before it.

The file is one deterministic CBOR map::

    {"format": "fieldcheck-export/1", "device_id": str, "public_key": bytes(32),
     "records": [bytes, ...]}   # COSE_Sign1 records, oldest first, contiguous seqs

A reader ignores keys it does not know, so later versions can add (for example) a signed
statement of the head without breaking this one.
"""

from dataclasses import dataclass

import cbor2

from fieldcheck_protocol.record import ZERO_HASH, Record, RecordError
from fieldcheck_protocol.signature import device_id_for, record_hash, verify_record

FORMAT = "fieldcheck-export/1"


class ExportError(ValueError):
    """An export file that cannot be read, or whose records do not check out."""


@dataclass(frozen=True)
class Export:
    """A device's public key and its signed records, oldest first."""

    device_id: str
    public_key: bytes
    records: tuple[bytes, ...]


def encode_export(export: Export) -> bytes:
    """The export as deterministic CBOR; refuses a key that does not match the device id."""
    _check_binding(export.device_id, export.public_key)
    return cbor2.dumps(
        {"format": FORMAT, "device_id": export.device_id, "public_key": export.public_key,
         "records": list(export.records)},
        canonical=True,
    )


def decode_export(data: bytes) -> Export:
    """Read an export file's bytes; says what is wrong instead of raising a decoder's error."""
    try:
        top = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError) as err:
        raise ExportError(f"not a CBOR export file: {err}") from None
    if not isinstance(top, dict) or top.get("format") != FORMAT:
        raise ExportError(f"not a {FORMAT} file (no such 'format' key)")
    device_id, key, records = top.get("device_id"), top.get("public_key"), top.get("records")
    if not isinstance(device_id, str) or not isinstance(key, bytes):
        raise ExportError("'device_id' must be text and 'public_key' bytes")
    if not isinstance(records, list) or not all(isinstance(r, bytes) for r in records):
        raise ExportError("'records' must be an array of byte strings")
    _check_binding(device_id, key)
    return Export(device_id, key, tuple(records))


def verify_export(export: Export) -> list[Record]:
    """Every record's signature, device, sequence and chain link; the records, oldest first.

    The first record may be any seq (a unit prunes what its server acknowledged); from there the
    seqs must be contiguous and each ``prev_hash`` the hash of the record before it.
    """
    verified: list[Record] = []
    prev: bytes | None = None
    for index, cose in enumerate(export.records):
        try:
            record = verify_record(cose, export.public_key)
        except RecordError as err:
            raise ExportError(f"record {index}: {err.code}: {err.message}") from None
        if record.device_id != export.device_id:
            raise ExportError(f"record {index} (seq {record.seq}) names {record.device_id}")
        if verified and record.seq != verified[-1].seq + 1:
            raise ExportError(f"seq {verified[-1].seq + 1} missing before seq {record.seq}")
        expected = prev if prev is not None else (ZERO_HASH if record.seq == 0 else None)
        if expected is not None and record.prev_hash != expected:
            raise ExportError(f"seq {record.seq}: prev_hash is not the hash of the record before")
        verified.append(record)
        prev = record_hash(cose)
    return verified


def _check_binding(device_id: str, public_key: bytes) -> None:
    try:
        derived = device_id_for(public_key)
    except ValueError as err:
        raise ExportError(f"public_key: {err}") from None
    if derived != device_id:
        raise ExportError(f"public_key belongs to {derived}, not {device_id}")
