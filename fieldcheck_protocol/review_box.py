"""Review images sealed to the review desk's X25519 key: the unit can seal, never open.

File layout (``fieldcheck-review-image/1``)::

    fieldcheck-review-image/1\\n
    {"alg": ..., "captured": ISO time, "device_id": ..., "ephemeral": hex, "frame": n,
     "review_key": hex id, "seq": n}\\n
    <AES-256-GCM ciphertext and 16-byte tag of the JPEG>

Each image gets a fresh ephemeral X25519 key pair; its private half is dropped once the shared
secret with the review public key is computed, so only the holder of the review private key can
derive the AES key again. HKDF-SHA256 turns the shared secret into the AES key and nonce, salted
with both public keys and with ``info`` naming the device, the check-in record's seq and the
frame. The two header lines are the associated data, so editing any header field (or moving a
file to another seq) breaks the tag. Pure: bytes in, bytes out; callers do the file I/O.
"""

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = b"fieldcheck-review-image/1"
ALG = "X25519-HKDF-SHA256-A256GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
_INFO = b"fieldcheck review image v1"
T = TypeVar("T")
_FIELDS = frozenset({"alg", "captured", "device_id", "ephemeral", "frame", "review_key", "seq"})


class ReviewBoxError(ValueError):
    """A sealed review image cannot be opened, or a review key is malformed."""


@dataclass(frozen=True)
class ReviewHeader:
    """The public header of a sealed image (authenticated once the image is opened)."""

    device_id: str
    seq: int
    frame: int
    captured: datetime
    ephemeral: bytes
    review_key: str


def parse_public_key(text: str) -> bytes:
    """The 32-byte X25519 public key written as 64 hex digits; ReviewBoxError otherwise."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ReviewBoxError("the review public key is not hexadecimal") from None
    if len(raw) != KEY_BYTES:
        raise ReviewBoxError(f"the review public key has {len(raw)} bytes, not {KEY_BYTES}")
    if raw == bytes(KEY_BYTES):
        raise ReviewBoxError("the review public key is all zeros")
    return raw


def public_key_of(private_key: bytes) -> bytes:
    """The raw public key of a raw X25519 private key (the review desk's side)."""
    key = X25519PrivateKey.from_private_bytes(private_key)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """A short public fingerprint naming which review key a file is sealed to."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def seal(jpeg: bytes, review_public: bytes, device_id: str, seq: int, frame: int,
         captured: datetime, token: Callable[[int], bytes] = secrets.token_bytes) -> bytes:
    """The sealed file contents of one JPEG; ``token`` supplies the ephemeral key's bytes."""
    if captured.tzinfo is None:
        raise ValueError("captured must be timezone-aware")
    ephemeral = X25519PrivateKey.from_private_bytes(token(KEY_BYTES))
    header = ReviewHeader(
        device_id=device_id, seq=seq, frame=frame, captured=captured,
        ephemeral=ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
        review_key=key_id(review_public),
    )
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(review_public))
    key, nonce = _derive(shared, header, review_public)
    head = _header_lines(header)
    return head + AESGCM(key).encrypt(nonce, jpeg, head)


def read_header(data: bytes) -> ReviewHeader:
    """The header of sealed ``data``, unauthenticated (for names and retention only)."""
    parts = data.split(b"\n", 2)
    if len(parts) != 3 or parts[0] != FORMAT:
        raise ReviewBoxError(f"not a sealed review image ({FORMAT.decode()})")
    try:
        fields = json.loads(parts[1])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReviewBoxError("the sealed image's header is damaged") from None
    if not isinstance(fields, dict) or set(fields) != _FIELDS or fields["alg"] != ALG:
        raise ReviewBoxError("the sealed image's header is not a known format")
    try:
        header = ReviewHeader(
            device_id=_typed(fields["device_id"], str), seq=_typed(fields["seq"], int),
            frame=_typed(fields["frame"], int),
            captured=datetime.fromisoformat(_typed(fields["captured"], str)),
            ephemeral=bytes.fromhex(_typed(fields["ephemeral"], str)),
            review_key=_typed(fields["review_key"], str),
        )
    except (TypeError, ValueError):
        raise ReviewBoxError("the sealed image's header has a bad field") from None
    if header.captured.tzinfo is None or len(header.ephemeral) != KEY_BYTES:
        raise ReviewBoxError("the sealed image's header has a bad field")
    return header


def open_box(data: bytes, review_private: bytes) -> tuple[ReviewHeader, bytes]:
    """The header and JPEG of sealed ``data``; ReviewBoxError when tampered or another key."""
    header = read_header(data)
    review_public = public_key_of(review_private)
    if header.review_key != key_id(review_public):
        raise ReviewBoxError(f"sealed to review key {header.review_key}, "
                             f"not to this one ({key_id(review_public)})")
    private = X25519PrivateKey.from_private_bytes(review_private)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(header.ephemeral))
        key, nonce = _derive(shared, header, review_public)
        fmt, fields, body = data.split(b"\n", 2)
        jpeg = AESGCM(key).decrypt(nonce, body, fmt + b"\n" + fields + b"\n")
    except (InvalidTag, ValueError):
        raise ReviewBoxError("the sealed image was altered, or was not sealed to this key") \
            from None
    return header, jpeg


def _typed(value: object, kind: type[T]) -> T:
    # bool is an int in Python; a header with true/false where a number belongs is damaged.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value


def _header_lines(header: ReviewHeader) -> bytes:
    fields = {
        "alg": ALG, "captured": header.captured.isoformat(), "device_id": header.device_id,
        "ephemeral": header.ephemeral.hex(), "frame": header.frame,
        "review_key": header.review_key, "seq": header.seq,
    }
    return FORMAT + b"\n" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() \
        + b"\n"


def _derive(shared: bytes, header: ReviewHeader, review_public: bytes) -> tuple[bytes, bytes]:
    # Both public keys salt the KDF (as ECIES/HPKE bind the KEM context); info binds the
    # device, the record's seq and the frame so a file cannot pass for another check-in's.
    info = b"\0".join((_INFO, header.device_id.encode(), str(header.seq).encode(),
                       str(header.frame).encode()))
    okm = HKDF(hashes.SHA256(), KEY_BYTES + NONCE_BYTES, header.ephemeral + review_public,
               info).derive(shared)
    return okm[:KEY_BYTES], okm[KEY_BYTES:]
