"""Request signing, device side: the headers that authenticate one HTTP request with the device key.

The protocol itself (message bytes, header names, nonce form) lives in
``fieldcheck_protocol.request_auth``, shared with the server; this module binds it to the device's
``RequestSigner`` and its random source.
"""

from collections.abc import Callable

from fieldcheck_protocol import request_auth
from firmware.sync.base import RequestSigner


def signed_headers(
    signer: RequestSigner,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    random_bytes: Callable[[int], bytes],
) -> dict[str, str]:
    """Headers authenticating one request; ``random_bytes`` is e.g. ``secrets.token_bytes``."""
    nonce = request_auth.new_nonce(random_bytes)
    return request_auth.signed_headers(
        signer.device_id, signer.sign, method, path, body, timestamp, nonce
    )
