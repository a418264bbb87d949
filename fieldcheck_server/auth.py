"""Request authentication, server side: signed headers, fresh timestamps, single-use nonces.

The signed bytes, header names and nonce form are the shared protocol in
``fieldcheck_protocol.request_auth`` (the device signs with the same module); this module decides
whom to trust: registered and unrevoked devices, a bounded clock skew, each nonce used once.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fieldcheck_protocol.request_auth import (
    HEADER_DEVICE,
    HEADERS,
    decode_signature,
    is_nonce,
    request_message,
)
from fieldcheck_server.db import DeviceRow, Tx

#: Header names as the ingest handler sees them (lower-cased).
HEADER_KEYS = tuple(name.lower() for name in HEADERS)
MAX_SKEW_S = 300
_DEVICE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Refusal(Exception):
    """A request or batch refused as a whole: HTTP status, stable code, a clear message."""

    def __init__(self, status: int, code: str, message: str, device_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.device_id = device_id


@dataclass(frozen=True)
class SignedRequest:
    """The authentication headers of one request, parsed but not yet trusted."""

    device_id: str
    timestamp: int
    nonce: str
    signature: bytes


def parse_headers(headers: Mapping[str, str]) -> SignedRequest:
    """Read the four headers (keys lower-cased); refuses missing or malformed ones."""
    values = [headers.get(name) for name in HEADER_KEYS]
    if any(value is None for value in values):
        missing = [name for name, value in zip(HEADER_KEYS, values, strict=True) if value is None]
        raise Refusal(401, "missing_auth", f"missing header(s): {', '.join(missing)}")
    device_id, timestamp, nonce, signature = (str(v) for v in values)
    if not _DEVICE.fullmatch(device_id):
        # The claimed id ends up in evidence and alerts: keep attacker-chosen text bounded.
        raise Refusal(401, "bad_auth_header", "device id has the wrong form")
    try:
        stamp = int(timestamp)
    except ValueError as err:
        raise Refusal(401, "bad_auth_header", f"unreadable auth header: {err}", device_id) from err
    try:
        raw = decode_signature(signature)
    except ValueError as err:
        raise Refusal(401, "bad_auth_header", str(err), device_id) from err
    if not is_nonce(nonce):
        raise Refusal(401, "bad_auth_header", "nonce has the wrong form", device_id)
    return SignedRequest(device_id, stamp, nonce, raw)


def claimed_device(headers: Mapping[str, str]) -> str | None:
    """The device id a request claims, if well-formed (for filing evidence, not for trust)."""
    value = headers.get(HEADER_DEVICE.lower())
    return value if value is not None and _DEVICE.fullmatch(value) else None


def check_signature(
    request: SignedRequest,
    device: DeviceRow | None,
    method: str,
    path: str,
    body: bytes,
    now_s: int,
) -> DeviceRow:
    """Known, unrevoked device, fresh timestamp, valid signature; refuses otherwise."""
    if device is None:
        raise Refusal(
            401,
            "unknown_device",
            f"device {request.device_id!r} is not registered",
            request.device_id,
        )
    if device.revoked_at is not None:
        raise Refusal(
            403, "device_revoked", f"device {device.device_id} was revoked", device.device_id
        )
    if abs(now_s - request.timestamp) > MAX_SKEW_S:
        raise Refusal(
            401,
            "stale_timestamp",
            f"request time is {request.timestamp - now_s:+d} s from the server's clock "
            f"(allowed ±{MAX_SKEW_S} s)",
            device.device_id,
        )
    message = request_message(method, path, body, request.timestamp, request.nonce)
    try:
        Ed25519PublicKey.from_public_bytes(device.public_key).verify(request.signature, message)
    except InvalidSignature as err:
        raise Refusal(
            401,
            "bad_request_signature",
            "request signature does not verify with the registered key",
            device.device_id,
        ) from err
    return device


def consume_nonce(tx: Tx, request: SignedRequest, now_s: int) -> None:
    """Record the nonce inside the ingest transaction; a second use is a replay."""
    tx.purge_nonces(request.device_id, now_s)
    # A nonce must be remembered only while its timestamp could still pass the freshness check.
    if not tx.use_nonce(request.device_id, request.nonce, request.timestamp + MAX_SKEW_S):
        raise Refusal(
            401, "replayed_nonce", "this request was already received (replay)", request.device_id
        )
