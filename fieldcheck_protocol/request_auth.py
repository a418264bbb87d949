"""The request-signing protocol shared by the device and the server: message bytes, headers, nonces.

One HTTP request is authenticated by the device key over these bytes::

    message = "fieldcheck-request-v1" LF METHOD LF PATH LF hex(sha256(body)) LF TIMESTAMP LF NONCE

METHOD is upper-case, TIMESTAMP whole Unix seconds in decimal, NONCE 16 random bytes as 32
lower-case hex digits. The Ed25519 signature of ``message`` travels base64url-encoded without
padding. The device signs (``firmware.sync.auth``), the server verifies
(``fieldcheck_server.auth``); both build the message here, and a golden vector pins it in the tests.
Pure: the caller supplies the signing function and the random bytes.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Callable

PROTOCOL = "fieldcheck-request-v1"
HEADER_DEVICE = "X-Fieldcheck-Device"
HEADER_TIMESTAMP = "X-Fieldcheck-Timestamp"
HEADER_NONCE = "X-Fieldcheck-Nonce"
HEADER_SIGNATURE = "X-Fieldcheck-Signature"
#: Every authentication header, in the order a request carries them.
HEADERS = (HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
NONCE_BYTES = 16
SIGNATURE_BYTES = 64
_NONCE = re.compile(rf"[0-9a-f]{{{2 * NONCE_BYTES}}}")


def request_message(method: str, path: str, body: bytes, timestamp: int, nonce: str) -> bytes:
    """The exact bytes a request signature covers."""
    digest = hashlib.sha256(body).hexdigest()
    fields = (PROTOCOL, method.upper(), path, digest, str(timestamp), nonce)
    return "\n".join(fields).encode("ascii")


def new_nonce(random_bytes: Callable[[int], bytes]) -> str:
    """A fresh nonce from ``random_bytes`` (e.g. ``secrets.token_bytes``)."""
    raw = random_bytes(NONCE_BYTES)
    if len(raw) != NONCE_BYTES:
        raise ValueError(f"random source gave {len(raw)} bytes, the nonce needs {NONCE_BYTES}")
    return raw.hex()


def is_nonce(text: str) -> bool:
    """True if ``text`` has the nonce's form (32 lower-case hex digits)."""
    return _NONCE.fullmatch(text) is not None


def encode_signature(signature: bytes) -> str:
    """The signature header value: base64url without padding."""
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def decode_signature(text: str) -> bytes:
    """The raw signature from its header value; ``ValueError`` unless 64 bytes of base64url."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"signature is not base64url: {err}") from err
    if len(raw) != SIGNATURE_BYTES:
        raise ValueError(f"signature is {len(raw)} bytes, not {SIGNATURE_BYTES}")
    return raw


def signed_headers(
    device_id: str,
    sign: Callable[[bytes], bytes],
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    nonce: str,
) -> dict[str, str]:
    """The four authentication headers of one request; ``sign`` is the device key's Ed25519."""
    signature = sign(request_message(method, path, body, timestamp, nonce))
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: encode_signature(signature),
    }
