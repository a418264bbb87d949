"""The device registry: a technician registers a unit's public key, lists units, revokes one."""

import base64
import binascii
import re

from fieldcheck_protocol.signature import device_id_for
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import DeviceRow
from fieldcheck_server.errors import RegistryError

_HEX = re.compile(r"[0-9a-fA-F]{64}")


def parse_public_key(text: str) -> bytes:
    """A raw Ed25519 public key given as 64 hex digits or 43 base64url characters."""
    text = text.strip()
    if _HEX.fullmatch(text):
        return bytes.fromhex(text)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise RegistryError(
            "public key must be 32 bytes as 64 hex digits or base64url; copy it exactly as "
            "`fieldcheck-device identity show` prints it"
        )
    return raw


def register(db: Database, device_id: str, public_key: str, label: str, now_ms: int) -> DeviceRow:
    """Register a unit; the id must be the one its key derives (catches a mistyped key)."""
    key = parse_public_key(public_key)
    derived = device_id_for(key)
    if derived != device_id:
        raise RegistryError(
            f"device id {device_id!r} does not belong to that public key (it derives {derived}); "
            "copy both from `fieldcheck-device identity show` on the unit"
        )
    with db.write() as tx:
        if not tx.insert_device(device_id, key, label, now_ms):
            existing = tx.device(device_id)
            if existing is None or existing.public_key != key:
                raise RegistryError(f"device {device_id} is already registered with another key")
        row = tx.device(device_id)
    assert row is not None
    return row


def revoke(db: Database, device_id: str, now_ms: int) -> None:
    """Refuse all further requests from a unit (its stored records stay)."""
    with db.write() as tx:
        if not tx.set_revoked(device_id, now_ms) and tx.device(device_id) is None:
            raise RegistryError(f"device {device_id} is not registered")


def devices(db: Database) -> list[DeviceRow]:
    """Every registered unit."""
    with db.read() as tx:
        return tx.devices()
