"""The signed-record export: one device's COSE_Sign1 records with the public key that checks them.

Both ends write it (``fieldcheck records export --format cose`` on the server,
``fieldcheck-device records export --format cose`` on a unit that cannot reach its server) and
anyone can check it alone: the device id is derived from the public key, every record is signed
by that key, and each record's ``prev_hash`` is the sha256 of the one before it.

The file is one deterministic CBOR map::

    {"format": "fieldcheck-export/1", "device_id": str, "public_key": bytes(32),
     "records": [bytes, ...]}   # COSE_Sign1 records, oldest first, contiguous seqs

A reader ignores keys it does not know. The server's export adds a signed statement of the head,
so that a file cut short at the end can be told from a whole one::

     "head": bytes,        # COSE_Sign1 (EdDSA) by the server's export key over the CBOR map
                           # {"type": "fieldcheck-head/1", "d": device_id, "s": head seq or null,
                           #  "h": sha256 of the head record's COSE bytes or null, "t": ms UTC}
     "server_key": bytes(32)   # that export key's raw Ed25519 public key

The statement says: at time ``t`` the server held the device's records up to seq ``s``, whose
hash is ``h``. Whoever checks compares ``server_key`` with the key the server's operator publishes
(`fieldcheck server export-key`); a file whose last record is not ``s`` was cut.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldcheck_protocol.record import ZERO_HASH, Record, RecordError
from fieldcheck_protocol.signature import (
    COSE_SIGN1_TAG,
    HEADER_KID,
    PROTECTED,
    device_id_for,
    public_key_bytes,
    record_hash,
    verify_record,
)

FORMAT = "fieldcheck-export/1"
HEAD_TYPE = "fieldcheck-head/1"
#: The key id in a head statement's unprotected header.
SERVER_KID = b"fieldcheck-server"


class ExportError(ValueError):
    """An export file that cannot be read, or whose records do not check out."""


@dataclass(frozen=True)
class Export:
    """A device's public key and its signed records, oldest first."""

    device_id: str
    public_key: bytes
    records: tuple[bytes, ...]
    #: The server's signed statement of the head (COSE_Sign1) and the key that signed it.
    head: bytes | None = None
    server_key: bytes | None = None


@dataclass(frozen=True)
class HeadStatement:
    """What the server held of a device at a time: the head's seq and hash (None: nothing)."""

    device_id: str
    seq: int | None
    record_hash: bytes | None
    at_ms: int


def encode_export(export: Export) -> bytes:
    """The export as deterministic CBOR; refuses a key that does not match the device id."""
    _check_binding(export.device_id, export.public_key)
    top: dict[str, Any] = {
        "format": FORMAT,
        "device_id": export.device_id,
        "public_key": export.public_key,
        "records": list(export.records),
    }
    if export.head is not None and export.server_key is not None:
        top |= {"head": export.head, "server_key": export.server_key}
    return cbor2.dumps(top, canonical=True)


def sign_head(statement: HeadStatement, key: Ed25519PrivateKey) -> bytes:
    """The statement as COSE_Sign1 bytes, signed with the server's export key."""
    payload = cbor2.dumps(
        {"type": HEAD_TYPE, "d": statement.device_id, "s": statement.seq,
         "h": statement.record_hash, "t": statement.at_ms},
        canonical=True,
    )
    signature = key.sign(_sig_structure(payload))
    message = [PROTECTED, {HEADER_KID: SERVER_KID}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, message), canonical=True)


def verify_head(export: Export, trusted_server_key: bytes | None = None) -> HeadStatement:
    """The export's head statement, its signature checked and its head the file's last record.

    ``trusted_server_key``: the key the operator publishes; without it the statement only proves
    the file was not cut after the server wrote it, by whoever holds ``server_key``."""
    if export.head is None or export.server_key is None:
        raise ExportError("the export carries no signed head statement (`head`, `server_key`)")
    if trusted_server_key is not None and trusted_server_key != export.server_key:
        raise ExportError("the head is signed by another key than the server's published one")
    statement = _open_head(export.head, export.server_key)
    if statement.device_id != export.device_id:
        raise ExportError(f"the head statement is about {statement.device_id}")
    last = export.records[-1] if export.records else None
    last_seq = verify_record(last, export.public_key).seq if last is not None else None
    if statement.seq != last_seq:
        raise ExportError(
            f"the file ends at seq {last_seq} but the server's signed head is seq "
            f"{statement.seq}: records were cut off the end"
        )
    if last is not None and statement.record_hash != record_hash(last):
        raise ExportError(f"seq {last_seq} is not the record the server's head statement names")
    return statement


def _sig_structure(payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", PROTECTED, b"", payload], canonical=True)


def _open_head(cose: bytes, server_key: bytes) -> HeadStatement:
    try:
        message = cbor2.loads(cose)
        protected, _unprotected, payload, signature = message.value
        if message.tag != COSE_SIGN1_TAG or protected != PROTECTED:
            raise ExportError("the head statement is not an EdDSA COSE_Sign1 message")
        Ed25519PublicKey.from_public_bytes(server_key).verify(signature, _sig_structure(payload))
        body = cbor2.loads(payload)
    except InvalidSignature:
        raise ExportError("the head statement's signature does not verify") from None
    except (cbor2.CBORDecodeError, ValueError, TypeError, AttributeError) as err:
        raise ExportError(f"unreadable head statement: {err}") from None
    if not isinstance(body, Mapping) or body.get("type") != HEAD_TYPE:
        raise ExportError(f"the head statement is not a {HEAD_TYPE} map")
    try:
        return HeadStatement(body["d"], body["s"], body["h"], body["t"])
    except KeyError as err:
        raise ExportError(f"the head statement lacks {err}") from None


def server_public_key(key: Ed25519PrivateKey) -> bytes:
    """The raw public key of the server's export key (what its operator publishes)."""
    return public_key_bytes(key)


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
    head, server_key = top.get("head"), top.get("server_key")
    if not (isinstance(head, bytes) and isinstance(server_key, bytes) and len(server_key) == 32):
        head = server_key = None
    return Export(device_id, key, tuple(records), head, server_key)


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
