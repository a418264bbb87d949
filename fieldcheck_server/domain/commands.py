"""The command queue: sign and queue a command for a unit, hand pending ones out with an upload
answer, and mark each delivered, done or refused when the unit's signed ``command`` event arrives.
"""

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.command import (
    MAX_COMMANDS_PER_ANSWER,
    Command,
    CommandError,
    CommandKind,
    parse_answer,
    sign_command,
)
from fieldcheck_protocol.record import Kind, Record, from_ms
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import CommandRow, Tx
from fieldcheck_server.errors import RegistryError

logger = logging.getLogger(__name__)

#: How long a queued command waits for its unit by default (a unit asleep for a day still gets it).
DEFAULT_TTL_MS = 24 * 3600 * 1000
#: The longest a command may live: a unit must not obey a week-old order.
MAX_TTL_MS = 7 * 24 * 3600 * 1000


class State(StrEnum):
    """Where a command stands, as `fieldcheck device commands` shows it."""

    PENDING = "pending"  # queued, not yet handed to the unit
    DELIVERED = "delivered"  # sent in an upload answer, no answer yet
    DONE = "done"
    REFUSED = "refused"
    EXPIRED = "expired"  # never answered before its expiry


@dataclass(frozen=True)
class CommandView:
    """One command and its state."""

    row: CommandRow
    state: State


def state_of(row: CommandRow, now_ms: int) -> State:
    """The state of a stored command at ``now_ms``."""
    if row.outcome is not None:
        return State.DONE if row.outcome == "done" else State.REFUSED
    if now_ms >= row.expires_at:
        return State.EXPIRED
    return State.DELIVERED if row.delivered_at is not None else State.PENDING


def queue(db: Database, key: Ed25519PrivateKey, device_id: str, kind: CommandKind,
          args: Mapping[str, Any], now_ms: int, actor: str,
          ttl_ms: int = DEFAULT_TTL_MS) -> CommandRow:
    """Sign a command with the next sequence number of the unit and queue it."""
    if not 0 < ttl_ms <= MAX_TTL_MS:
        raise RegistryError(f"a command lives between 1 ms and {MAX_TTL_MS // 3_600_000} hours")
    with db.write() as tx:
        tx.lock_device(device_id)
        device = tx.device(device_id)
        if device is None:
            raise RegistryError(f"no unit {device_id}: see `fieldcheck device list`")
        if device.revoked_at is not None:
            raise RegistryError(f"{device_id} is revoked; reinstate it before sending commands")
        seq = tx.next_command_seq(device_id)
        try:
            command = Command(secrets.token_hex(8), device_id, seq, from_ms(now_ms, "now"),
                              from_ms(now_ms + ttl_ms, "expiry"), kind, args)
        except CommandError as err:
            raise RegistryError(f"cannot send this command: {err.message}") from None
        row = CommandRow(command.id, device_id, seq, kind.value, sign_command(command, key),
                         now_ms, now_ms + ttl_ms, actor, None, None, None, None, None)
        tx.insert_command(row)
    logger.info("queued command %s (%s, seq %d) for %s", row.id, kind.value, seq, device_id)
    return row


def listing(db: Database, device_id: str, now_ms: int) -> list[CommandView]:
    """Every command of a unit with its state, by sequence number."""
    with db.read() as tx:
        if tx.device(device_id) is None:
            raise RegistryError(f"no unit {device_id}: see `fieldcheck device list`")
        rows = tx.commands(device_id)
    return [CommandView(row, state_of(row, now_ms)) for row in rows]


def record_answers(tx: Tx, device_id: str, stored: Iterable[Record], now_ms: int) -> int:
    """Mark commands answered by the ``command`` events among newly stored records; returns how
    many were marked (an answer naming no unanswered command of this unit changes nothing)."""
    marked = 0
    for record in stored:
        if record.kind is not Kind.EVENT or record.body.get("type") != "command":
            continue
        answer = parse_answer(record.body.get("details") or {})
        if answer is None:
            logger.warning("command event seq %d of %s has no readable answer", record.seq,
                           device_id)
            continue
        outcome = (answer.outcome.value, answer.reason.value, record.seq)
        if tx.answer_command(device_id, answer.id, answer.seq, outcome, now_ms):
            marked += 1
            logger.info("command %s of %s: %s (%s)", answer.id, device_id, *outcome[:2])
    return marked


def deliver(tx: Tx, device_id: str, stored: Iterable[Record], now_ms: int) -> tuple[bytes, ...]:
    """Within an upload's transaction: apply the answers it carried, then hand out the commands
    still waiting (unanswered, unexpired, oldest first, at most MAX_COMMANDS_PER_ANSWER)."""
    record_answers(tx, device_id, stored, now_ms)
    pending = tx.pending_commands(device_id, now_ms, MAX_COMMANDS_PER_ANSWER)
    tx.mark_delivered([row.id for row in pending], now_ms)
    return tuple(row.cose for row in pending)
