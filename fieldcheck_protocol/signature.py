"""COSE_Sign1 (RFC 9052) with Ed25519 over record payloads, the chain hash and device ids.

Message layout (fixed; anything else is refused with a stable :class:`RecordError` code):
``18([h'A10127' (protected {1: -8} EdDSA), {4: kid = device id as UTF-8}, payload, signature])``
with the signature over the Sig_structure ``["Signature1", protected, h'', payload]``.
Only the deterministic encoding of that message is accepted, so the bytes a record is hashed by
(its chain link and dedupe key) cannot be changed without invalidating it.
"""

import base64
import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fieldcheck_protocol.payload_reader import read_payload, read_values
from fieldcheck_protocol.record import (
    Code,
    Record,
    RecordError,
    RecordValues,
    encode_payload,
    restored,
)

COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HEADER_ALG = 1
HEADER_KID = 4
#: The only protected header this schema signs with: {1: -8}.
PROTECTED = cbor2.dumps({HEADER_ALG: ALG_EDDSA}, canonical=True)
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def device_id_for(public_key: bytes) -> str:
    """``"fc-"`` + the first 10 bytes of sha256(raw public key), base32, lower case (16 chars)."""
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError("an Ed25519 public key is exactly 32 raw bytes")
    return _device_id(public_key)


@lru_cache(maxsize=4096)
def _device_id(public_key: bytes) -> str:
    """device_id_for a validated key, kept per key (a server checks many records of one unit)."""
    digest = hashlib.sha256(public_key).digest()[:10]
    return "fc-" + base64.b32encode(digest).decode("ascii").lower()


@lru_cache(maxsize=4096)
def _verifier(public_key: bytes) -> Ed25519PublicKey:
    """The loaded public key, kept per key like its device id (raises ValueError if invalid)."""
    return Ed25519PublicKey.from_public_bytes(public_key)


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key of a private or public Ed25519 key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def record_hash(cose: bytes) -> bytes:
    """sha256 of a record's COSE_Sign1 bytes: the next record's ``prev_hash``."""
    return hashlib.sha256(cose).digest()


def _bstr(data: bytes) -> bytes:
    """A CBOR byte string in its deterministic (shortest length) encoding, RFC 8949 §4.2.1."""
    size = len(data)
    if size < 24:
        return bytes((0x40 | size,)) + data
    if size < 0x100:
        return bytes((0x58, size)) + data
    if size < 0x10000:
        return b"\x59" + size.to_bytes(2, "big") + data
    if size < 0x100000000:
        return b"\x5a" + size.to_bytes(4, "big") + data
    return b"\x5b" + size.to_bytes(8, "big") + data


#: ``["Signature1", PROTECTED, h'', `` as deterministic CBOR: the Sig_structure up to its payload.
_SIG_PREFIX = cbor2.dumps(["Signature1", PROTECTED, b"", b""], canonical=True)[:-1]
#: ``18([PROTECTED, {4: `` as deterministic CBOR: the message up to its kid.
_ENVELOPE_PREFIX = cbor2.dumps(
    cbor2.CBORTag(COSE_SIGN1_TAG, [PROTECTED, {HEADER_KID: b""}, b"", b""]), canonical=True
)[:-3]


def _sig_structure(payload: bytes) -> bytes:
    """``cbor2.dumps(["Signature1", PROTECTED, b"", payload], canonical=True)``, built directly
    (the same bytes; tests compare the two)."""
    return _SIG_PREFIX + _bstr(payload)


def _envelope(kid: bytes, payload: bytes, signature: bytes) -> bytes:
    """``cbor2.dumps(18([PROTECTED, {4: kid}, payload, signature]), canonical=True)``, built
    directly (the same bytes; tests compare the two)."""
    return _ENVELOPE_PREFIX + _bstr(kid) + _bstr(payload) + _bstr(signature)


def sign_record(record: Record, key: Ed25519PrivateKey) -> bytes:
    """The record as COSE_Sign1 bytes, signed with the device key its ``device_id`` names."""
    expected = device_id_for(public_key_bytes(key))
    if record.device_id != expected:
        raise RecordError(
            Code.WRONG_DEVICE, f"record names device {record.device_id}, key is {expected}"
        )
    payload = encode_payload(record)
    signature = key.sign(_sig_structure(payload))
    return _envelope(record.device_id.encode("utf-8"), payload, signature)


def _parse(cose: bytes) -> tuple[bytes, bytes, bytes]:
    """(kid, payload, signature) of a well-formed message in our layout, else RecordError."""
    parts = _sliced(cose)
    return parts if parts is not None else _decoded(cose)


#: The deterministic head of the 64-byte signature: the message's last item.
_SIGNATURE_HEAD = _bstr(bytes(SIGNATURE_SIZE))[:2]


def _sliced(cose: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(kid, payload, signature) cut straight from bytes that are the deterministic message
    ``_envelope(kid, payload, signature)`` with a 64-byte signature (every head checked to be
    the shortest one); None for anything else, which :func:`_decoded` then refuses or takes.
    Such bytes decode to exactly the parts that function checks, and re-encode to themselves."""
    if not cose.startswith(_ENVELOPE_PREFIX):
        return None
    try:
        kid_at, kid_end = _bstr_span(cose, len(_ENVELOPE_PREFIX))
        payload_at, payload_end = _bstr_span(cose, kid_end)
    except IndexError:
        return None
    if (
        payload_end < 0
        or len(cose) != payload_end + len(_SIGNATURE_HEAD) + SIGNATURE_SIZE
        or not cose.startswith(_SIGNATURE_HEAD, payload_end)
    ):
        return None
    return (cose[kid_at:kid_end], cose[payload_at:payload_end],
            cose[payload_end + len(_SIGNATURE_HEAD):])


def _bstr_span(data: bytes, pos: int) -> tuple[int, int]:
    """(start, end) of the content of the byte string at ``pos`` if its head is the shortest
    (lengths below 65536), else (-1, -1); raises IndexError past the end."""
    if pos < 0:
        return -1, -1
    first = data[pos]
    if 0x40 <= first < 0x58:
        start, size = pos + 1, first - 0x40
    elif first == 0x58 and data[pos + 1] >= 24:
        start, size = pos + 2, data[pos + 1]
    elif first == 0x59 and data[pos + 1]:  # a length of at least 256
        start, size = pos + 3, int.from_bytes(data[pos + 1 : pos + 3], "big")
    else:
        return -1, -1
    end = start + size
    return (start, end) if end <= len(data) else (-1, -1)


def _decoded(cose: bytes) -> tuple[bytes, bytes, bytes]:
    """:func:`_parse` by decoding: every message, with the refusal of each malformed one."""
    try:
        message: Any = cbor2.loads(cose, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as err:
        raise RecordError(Code.MALFORMED, f"not valid CBOR: {err}") from None
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise RecordError(Code.NOT_SIGN1, "not a tagged COSE_Sign1 message (tag 18)")
    parts = message.value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise RecordError(Code.MALFORMED, "COSE_Sign1 must be an array of 4 items")
    protected, unprotected, payload, signature = parts
    if protected != PROTECTED:
        raise RecordError(
            Code.BAD_HEADER, "protected header must be exactly {1: -8} (EdDSA, nothing else)"
        )
    if not isinstance(unprotected, Mapping) or set(unprotected) != {HEADER_KID}:
        raise RecordError(Code.BAD_HEADER, "unprotected header must be exactly {4: kid}")
    kid = unprotected[HEADER_KID]
    if not isinstance(kid, bytes):
        raise RecordError(Code.BAD_HEADER, "kid must be a byte string")
    if not isinstance(payload, bytes):
        raise RecordError(Code.MALFORMED, "payload must be an attached byte string")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise RecordError(Code.BAD_SIGNATURE, "signature must be 64 bytes")
    if _envelope(kid, payload, signature) != cose:
        raise RecordError(Code.NON_CANONICAL, "COSE_Sign1 is not in deterministic encoding")
    return kid, payload, signature


def sign1(payload: bytes, kid: bytes, key: Ed25519PrivateKey) -> bytes:
    """Any payload (e.g. a server command) as COSE_Sign1 bytes in this module's fixed layout."""
    return _envelope(kid, payload, key.sign(_sig_structure(payload)))


def open_sign1(cose: bytes, public_key: bytes) -> tuple[bytes, bytes]:
    """(kid, payload) of a message in this layout whose signature ``public_key`` verifies.

    Raises :class:`RecordError` (``malformed``, ``bad_header``, ``bad_signature``...); the key id
    is returned unchecked, the caller compares it with the id it expects.
    """
    kid, payload, signature = _parse(cose)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, _sig_structure(payload))
    except InvalidSignature:
        raise RecordError(Code.BAD_SIGNATURE, "Ed25519 signature does not verify") from None
    return kid, payload


def verify_record(cose: bytes, public_key: bytes) -> Record:
    """Check layout, key id, Ed25519 signature and payload; return the record or raise."""
    return restored(*verified_values(cose, public_key))


def verified_values(cose: bytes, public_key: bytes) -> RecordValues:
    """:func:`verify_record` as the record's plain values (what a verify worker sends back):
    the same checks, the same refusals."""
    kid, payload, signature = _parse(cose)
    device_id = device_id_for(public_key)
    if kid != device_id.encode("utf-8"):
        raise RecordError(Code.WRONG_DEVICE, f"kid {kid!r} is not the key's device {device_id}")
    try:
        _verifier(public_key).verify(signature, _sig_structure(payload))
    except InvalidSignature:
        raise RecordError(Code.BAD_SIGNATURE, "Ed25519 signature does not verify") from None
    values = read_values(payload)
    if values[1] != device_id:
        raise RecordError(Code.WRONG_DEVICE, f"payload names {values[1]}, not {device_id}")
    return values


def unverified_record(cose: bytes) -> Record:
    """The record inside a well-formed message WITHOUT checking its signature (local reads)."""
    _kid, payload, _signature = _parse(cose)
    return read_payload(payload)


def peek(cose: bytes) -> tuple[str, int]:
    """(device_id, seq) without verifying the signature, for routing and dedupe."""
    record = unverified_record(cose)
    return record.device_id, record.seq
