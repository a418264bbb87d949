"""Request signing, device side: the headers that authenticate one HTTP request with the device key.

The protocol (the server's ``host_tools/server/auth.py`` verifies the same bytes; both sides are
checked against one golden vector in the tests):

    message = "fieldcheck-request-v1" LF METHOD LF PATH LF hex(sha256(body)) LF TIMESTAMP LF NONCE

TIMESTAMP is whole Unix seconds in decimal, NONCE 16 random bytes as 32 lower-case hex digits.
The Ed25519 signature of ``message`` is sent base64url-encoded without padding.
"""

import base64
import hashlib
from collections.abc import Callable

from firmware.sync.base import RequestSigner

PROTOCOL = "fieldcheck-request-v1"
HEADER_DEVICE = "X-Fieldcheck-Device"
HEADER_TIMESTAMP = "X-Fieldcheck-Timestamp"
HEADER_NONCE = "X-Fieldcheck-Nonce"
HEADER_SIGNATURE = "X-Fieldcheck-Signature"
NONCE_BYTES = 16


def request_message(method: str, path: str, body: bytes, timestamp: int, nonce: str) -> bytes:
    """The exact bytes a request signature covers."""
    digest = hashlib.sha256(body).hexdigest()
    fields = (PROTOCOL, method.upper(), path, digest, str(timestamp), nonce)
    return "\n".join(fields).encode("ascii")


def signed_headers(
    signer: RequestSigner,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    random_bytes: Callable[[int], bytes],
) -> dict[str, str]:
    """Headers authenticating one request; ``random_bytes`` is e.g. ``secrets.token_bytes``."""
    nonce = random_bytes(NONCE_BYTES).hex()
    signature = signer.sign(request_message(method, path, body, timestamp, nonce))
    return {
        HEADER_DEVICE: signer.device_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii"),
    }
