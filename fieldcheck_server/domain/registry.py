"""The device registry: register a unit's public key, list units, revoke and reinstate (audited)."""

import base64
import binascii
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from fieldcheck_protocol.record import Kind, Record
from fieldcheck_protocol.record_body import DECOMMISSIONED
from fieldcheck_protocol.signature import device_id_for
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import DeviceEvent, DeviceRow, Tx
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.roles import SYSTEM as SYSTEM_PRINCIPAL
from fieldcheck_server.domain.roles import Principal, cli_principal
from fieldcheck_server.errors import RegistryConflict, RegistryError

logger = logging.getLogger(__name__)
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


class Action(StrEnum):
    """What the audit trail records."""

    REGISTERED = "registered"
    REVOKED = "revoked"
    REINSTATED = "reinstated"
    RETIRED = "retired"


@dataclass(frozen=True)
class Actor:
    """Who runs a registry command and why (kept in the audit trail)."""

    name: str
    reason: str = ""
    #: The operator signed in to the web or API; None: someone at the server's command line.
    principal: Principal | None = None

    def who(self) -> Principal:
        """Who the audit log names."""
        return self.principal or cli_principal(self.name)


#: For registrations made by code (bench, tests), not by a person at the command line.
SYSTEM = Actor("system", principal=SYSTEM_PRINCIPAL)


def register(
    db: Database,
    device_id: str,
    public_key: str,
    label: str,
    now_ms: int,
    actor: Actor = SYSTEM,
) -> DeviceRow:
    """Register a unit; the id must be the one its key derives (catches a mistyped key).

    Registering a unit that is already registered with the same key changes nothing; if it is
    revoked, that is said, with the command that reinstates it."""
    key = parse_public_key(public_key)
    derived = device_id_for(key)
    if derived != device_id:
        raise RegistryError(
            f"device id {device_id!r} does not belong to that public key (it derives {derived}); "
            "copy both from `fieldcheck-device identity show` on the unit"
        )
    with db.write() as tx:
        if tx.insert_device(device_id, key, label, now_ms):
            _log(tx, _event(device_id, now_ms, Action.REGISTERED, actor), actor)
        else:
            existing = tx.device(device_id)
            if existing is None or existing.public_key != key:
                raise RegistryConflict(
                    f"device {device_id} is already registered with another key"
                )
            if existing.retired_at is not None:
                raise RegistryConflict(
                    f"device {device_id} was decommissioned and is retired: its key is never "
                    "accepted again; provision the unit anew (`fieldcheck provision`) for a new key"
                )
            if existing.revoked_at is not None:
                raise RegistryConflict(
                    f"device {device_id} is registered but was revoked; to accept it again run "
                    f"`fieldcheck device reinstate --id {device_id} --reason TEXT`"
                )
        row = tx.device(device_id)
    assert row is not None
    return row


def revoke(db: Database, device_id: str, now_ms: int, actor: Actor = SYSTEM) -> None:
    """Refuse all further requests from a unit (its stored records stay); audited."""
    _set_revoked(db, device_id, now_ms, Action.REVOKED, actor)


def reinstate(db: Database, device_id: str, now_ms: int, actor: Actor = SYSTEM) -> None:
    """Accept a revoked unit's requests again; audited."""
    _set_revoked(db, device_id, now_ms, Action.REINSTATED, actor)


def _set_revoked(db: Database, device_id: str, now_ms: int, action: Action, actor: Actor) -> None:
    with db.write() as tx:
        revoked_at = now_ms if action is Action.REVOKED else None
        if tx.set_revoked(device_id, revoked_at):
            _log(tx, _event(device_id, now_ms, action, actor), actor)
            return
        if tx.device(device_id) is None:
            raise RegistryError(f"device {device_id} is not registered (`fieldcheck device list`)")
        state = "revoked" if action is Action.REVOKED else "active"
        raise RegistryError(f"device {device_id} is already {state}; nothing changed")


def retire_if_decommissioned(tx: Tx, device_id: str, stored: Sequence[Record],
                             now_ms: int) -> bool:
    """Inside the ingest transaction: a stored signed ``decommissioned`` event retires the unit
    (its key is refused from the next request on); audited with the record's seq."""
    final = next((r for r in stored if r.kind is Kind.EVENT
                  and r.body.get("type") == DECOMMISSIONED), None)
    if final is None or not tx.set_retired(device_id, now_ms):
        return False
    # The unit's own signed record did it, not an operator: the audit log names the system.
    actor = Actor("device", f"decommissioned record seq {final.seq}", SYSTEM_PRINCIPAL)
    _log(tx, _event(device_id, now_ms, Action.RETIRED, actor), actor)
    logger.info("device %s decommissioned itself (seq %d): retired", device_id, final.seq)
    return True


def _log(tx: Tx, event: DeviceEvent, actor: Actor) -> None:
    """The unit's own trail (`fieldcheck device events`) and the audit log, in one transaction."""
    tx.add_event(event)
    detail = {"reason": event.reason} if event.reason else None
    audit.record(tx, actor.who(), f"device.{event.action}", event.device_id, event.at, detail)


def events(db: Database, device_id: str) -> list[DeviceEvent]:
    """A unit's audit trail, oldest first."""
    with db.read() as tx:
        if tx.device(device_id) is None:
            raise RegistryError(f"device {device_id} is not registered (`fieldcheck device list`)")
        return tx.events(device_id)


def _event(device_id: str, now_ms: int, action: Action, actor: Actor) -> DeviceEvent:
    return DeviceEvent(device_id, now_ms, action.value, actor.name, actor.reason)


def devices(db: Database) -> list[DeviceRow]:
    """Every registered unit."""
    with db.read() as tx:
        return tx.devices()
