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
from fieldcheck_protocol.wire import ErrorCode
from fieldcheck_server.db.tx import DeviceRow, Tx
from fieldcheck_server.errors import Refused

#: Header names as the ingest handler sees them (lower-cased).
HEADER_KEYS = tuple(name.lower() for name in HEADERS)
MAX_SKEW_S = 300
_DEVICE = re.compile(r"[A-Za-z0-9._-]{1,64}")


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
        raise Refused(ErrorCode.MISSING_AUTH, f"missing header(s): {', '.join(missing)}")
    device_id, timestamp, nonce, signature = (str(v) for v in values)
    if not _DEVICE.fullmatch(device_id):
        # The claimed id ends up in evidence and alerts: keep attacker-chosen text bounded.
        raise Refused(ErrorCode.BAD_AUTH_HEADER, "device id has the wrong form")
    try:
        stamp = int(timestamp)
    except ValueError as err:
        raise Refused(
            ErrorCode.BAD_AUTH_HEADER, f"unreadable auth header: {err}", device_id
        ) from err
    try:
        raw = decode_signature(signature)
    except ValueError as err:
        raise Refused(ErrorCode.BAD_AUTH_HEADER, str(err), device_id) from err
    if not is_nonce(nonce):
        raise Refused(ErrorCode.BAD_AUTH_HEADER, "nonce has the wrong form", device_id)
    return SignedRequest(device_id, stamp, nonce, raw)


def claimed_device(headers: Mapping[str, str]) -> str | None:
    """The device id a request claims, if well-formed (for filing evidence, not for trust)."""
    value = headers.get(HEADER_DEVICE.lower())
    return value if value is not None and _DEVICE.fullmatch(value) else None


def check_device(request: SignedRequest, device: DeviceRow | None, now_s: int) -> DeviceRow:
    """What the headers alone can prove wrong: an unknown or revoked device, a stale time."""
    if device is None:
        raise Refused(
            ErrorCode.UNKNOWN_DEVICE,
            f"device {request.device_id!r} is not registered",
            request.device_id,
        )
    if device.revoked_at is not None:
        raise Refused(
            ErrorCode.DEVICE_REVOKED, f"device {device.device_id} was revoked", device.device_id
        )
    if device.retired_at is not None:
        raise Refused(
            ErrorCode.DEVICE_RETIRED,
            f"device {device.device_id} was decommissioned; its key is not accepted again",
            device.device_id,
        )
    if abs(now_s - request.timestamp) > MAX_SKEW_S:
        raise Refused(
            ErrorCode.STALE_TIMESTAMP,
            f"request time is {request.timestamp - now_s:+d} s from the server's clock "
            f"(allowed ±{MAX_SKEW_S} s)",
            device.device_id,
        )
    return device


def check_signature(
    request: SignedRequest, device: DeviceRow, method: str, path: str, body: bytes
) -> DeviceRow:
    """The request signature over method, path, body hash, time and nonce; refuses otherwise."""
    message = request_message(method, path, body, request.timestamp, request.nonce)
    try:
        Ed25519PublicKey.from_public_bytes(device.public_key).verify(request.signature, message)
    except InvalidSignature as err:
        raise Refused(
            ErrorCode.BAD_REQUEST_SIGNATURE,
            "request signature does not verify with the registered key",
            device.device_id,
        ) from err
    return device


def consume_nonce(tx: Tx, request: SignedRequest, now_s: int) -> None:
    """Record the nonce inside the ingest transaction; a second use is a replay."""
    tx.purge_nonces(request.device_id, now_s)
    # A nonce must be remembered only while its timestamp could still pass the freshness check.
    if not tx.use_nonce(request.device_id, request.nonce, request.timestamp + MAX_SKEW_S):
        raise Refused(
            ErrorCode.REPLAYED_NONCE,
            "this request was already received (replay)",
            request.device_id,
        )
