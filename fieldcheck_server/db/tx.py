"""One open transaction: typed operations, each one SQLAlchemy Core statement for both engines."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fieldcheck_server.db import record_rows
from fieldcheck_server.db.tables import (
    alerts,
    commands,
    device_events,
    devices,
    nonces,
    quarantine,
    records,
    refusals,
)


@dataclass(frozen=True)
class DeviceRow:
    """A registered device."""

    device_id: str
    public_key: bytes
    label: str
    registered_at: int
    revoked_at: int | None
    retired_at: int | None = None


@dataclass(frozen=True)
class DeviceEvent:
    """One entry of the registry's audit trail."""

    device_id: str
    at: int
    action: str
    actor: str
    reason: str


@dataclass(frozen=True)
class QuarantineRow:
    """One piece of refused input, kept as evidence."""

    id: int
    seq: int | None
    code: str
    message: str
    raw: bytes
    raw_size: int
    received_at: int
    source: str


@dataclass(frozen=True)
class RefusalCount:
    """How often one source was refused with one code, and when it was last alerted."""

    source: str
    code: str
    count: int
    bytes: int
    claimed_device: str | None
    first_at: int
    last_at: int
    alerted_at: int | None


@dataclass(frozen=True)
class AlertRow:
    """Something a person has to look at."""

    id: int
    created_at: int
    device_id: str | None
    code: str
    message: str
    quarantine_id: int | None


@dataclass(frozen=True)
class CommandRow:
    """A signed command queued for a unit, and what became of it."""

    id: str
    device_id: str
    seq: int
    kind: str
    cose: bytes
    issued_at: int
    expires_at: int
    actor: str
    delivered_at: int | None
    answered_at: int | None
    outcome: str | None
    reason: str | None
    answer_seq: int | None


class Tx:
    """Operations inside one transaction of :class:`fieldcheck_server.db.engine.Database`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    @property
    def connection(self) -> Connection:
        """The connection underneath (for migrations, which run their own statements)."""
        return self._connection

    def _insert_ignoring(self, table: Table, *keys: str) -> Insert:
        """``INSERT ... ON CONFLICT (keys) DO NOTHING`` in the engine's dialect."""
        insert = postgresql.insert if self._postgres else sqlite.insert
        return insert(table).on_conflict_do_nothing(index_elements=list(keys))

    def _changed(self, statement: Any) -> bool:
        """Whether a statement with RETURNING touched a row (psycopg's rowcount is not reliable
        for ``ON CONFLICT DO NOTHING`` through SQLAlchemy; the returned row is)."""
        return self._connection.execute(statement).first() is not None

    def lock_device(self, device_id: str) -> None:
        """Serialise writers of one device (SQLite's write transaction already locks it all)."""
        if self._postgres:
            self._connection.execute(
                select(devices.c.device_id)
                .where(devices.c.device_id == device_id)
                .with_for_update()
            )

    def device(self, device_id: str) -> DeviceRow | None:
        """The registered device, or None."""
        row = self._connection.execute(
            select(devices).where(devices.c.device_id == device_id)
        ).first()
        return _device(row) if row else None

    def devices(self) -> list[DeviceRow]:
        """Every registered device, by id."""
        rows = self._connection.execute(select(devices).order_by(devices.c.device_id))
        return [_device(row) for row in rows]

    def insert_device(self, device_id: str, public_key: bytes, label: str, now: int) -> bool:
        """Register a device; False when the id is already registered."""
        statement = self._insert_ignoring(devices, "device_id").values(
            device_id=device_id, public_key=public_key, label=label, registered_at=now
        )
        return self._changed(statement.returning(devices.c.device_id))

    def set_revoked(self, device_id: str, revoked_at: int | None) -> bool:
        """Revoke (a time) or reinstate (None) a device; False when that is already its state."""
        state = (
            devices.c.revoked_at.is_(None)
            if revoked_at is not None
            else (devices.c.revoked_at.is_not(None))
        )
        statement = (
            update(devices)
            .where(devices.c.device_id == device_id, state)
            .values(revoked_at=revoked_at)
            .returning(devices.c.device_id)
        )
        return self._changed(statement)

    def set_retired(self, device_id: str, retired_at: int) -> bool:
        """Mark a device retired (decommissioned) for good; False when it already was."""
        statement = (
            update(devices)
            .where(devices.c.device_id == device_id, devices.c.retired_at.is_(None))
            .values(retired_at=retired_at)
            .returning(devices.c.device_id)
        )
        return self._changed(statement)

    def add_event(self, event: DeviceEvent) -> None:
        """Append to the registry's audit trail."""
        self._connection.execute(
            device_events.insert().values(
                device_id=event.device_id,
                at=event.at,
                action=event.action,
                actor=event.actor,
                reason=event.reason,
            )
        )

    def events(self, device_id: str) -> list[DeviceEvent]:
        """A unit's audit trail, oldest first."""
        e = device_events.c
        rows = self._connection.execute(
            select(e.device_id, e.at, e.action, e.actor, e.reason)
            .where(e.device_id == device_id)
            .order_by(e.id)
        )
        return [DeviceEvent(*row) for row in rows]

    def head(self, device_id: str) -> tuple[int, bytes] | None:
        """(seq, record_hash) of the newest stored record; stored records are contiguous."""
        row = self._connection.execute(
            select(records.c.seq, records.c.record_hash)
            .where(records.c.device_id == device_id)
            .order_by(records.c.seq.desc())
            .limit(1)
        ).first()
        return (int(row[0]), bytes(row[1])) if row else None

    def record_cose(self, device_id: str, seq: int) -> bytes | None:
        """The stored COSE bytes of one record, or None."""
        value = self._connection.execute(
            select(records.c.cose).where(records.c.device_id == device_id, records.c.seq == seq)
        ).scalar()
        return bytes(value) if value is not None else None

    def insert_records(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store verified, chained records in one go (the primary key refuses a second copy:
        ``IntegrityError``); how, per engine, is :mod:`fieldcheck_server.db.record_rows`."""
        record_rows.insert_rows(self._connection, rows)

    def records(self, device_id: str, from_seq: int, limit: int) -> list[tuple[int, bytes, int]]:
        """(seq, cose, received_at) of stored records from ``from_seq``, in order."""
        rows = self._connection.execute(
            select(records.c.seq, records.c.cose, records.c.received_at)
            .where(records.c.device_id == device_id, records.c.seq >= from_seq)
            .order_by(records.c.seq)
            .limit(limit)
        )
        return [(int(r[0]), bytes(r[1]), int(r[2])) for r in rows]

    def quarantine(self, **values: Any) -> int | None:
        """Keep refused input as evidence; None when the same evidence is already kept."""
        statement = (
            self._insert_ignoring(quarantine, "code", "digest")
            .values(**values)
            .returning(quarantine.c.id)
        )
        value = self._connection.execute(statement).scalar()
        return int(value) if value is not None else None

    def quarantined(self, device_id: str) -> list[QuarantineRow]:
        """Evidence kept for one device, oldest first."""
        q = quarantine.c
        rows = self._connection.execute(
            select(q.id, q.seq, q.code, q.message, q.raw, q.raw_size, q.received_at, q.source)
            .where(q.device_id == device_id)
            .order_by(q.id)
        )
        return [QuarantineRow(r[0], r[1], r[2], r[3], bytes(r[4]), *r[5:]) for r in rows]

    def alert(
        self, now: int, device_id: str | None, code: str, message: str, qid: int | None
    ) -> None:
        """Raise an alert for a person to look at."""
        self._connection.execute(
            alerts.insert().values(
                created_at=now, device_id=device_id, code=code, message=message, quarantine_id=qid
            )
        )

    def alerts(self, limit: int) -> list[AlertRow]:
        """The newest alerts first."""
        rows = self._connection.execute(select(alerts).order_by(alerts.c.id.desc()).limit(limit))
        return [AlertRow(*row) for row in rows]

    def count_refusal(
        self, source: str, code: str, claimed: str | None, digest: bytes, size: int, now: int
    ) -> RefusalCount:
        """Count one unauthenticated refusal (one row per source and code, whatever the body)."""
        insert = postgresql.insert if self._postgres else sqlite.insert
        statement = insert(refusals).values(
            source=source,
            code=code,
            count=1,
            bytes=size,
            claimed_device=claimed,
            last_digest=digest,
            first_at=now,
            last_at=now,
        )
        upsert = statement.on_conflict_do_update(
            index_elements=["source", "code"],
            set_={
                "count": refusals.c.count + 1,
                "bytes": refusals.c.bytes + size,
                "claimed_device": statement.excluded.claimed_device,
                "last_digest": statement.excluded.last_digest,
                "last_at": statement.excluded.last_at,
            },
        ).returning(*_REFUSAL_COLUMNS)
        return RefusalCount(*self._connection.execute(upsert).one())

    def mark_alerted(self, source: str, code: str, now: int) -> None:
        """Remember when a source's refusals were last raised as an alert."""
        self._connection.execute(
            update(refusals)
            .where(refusals.c.source == source, refusals.c.code == code)
            .values(alerted_at=now)
        )

    def refusal_counts(self) -> list[RefusalCount]:
        """Every counted source and code, the most frequent first."""
        rows = self._connection.execute(
            select(*_REFUSAL_COLUMNS).order_by(refusals.c.count.desc(), refusals.c.source)
        )
        return [RefusalCount(*row) for row in rows]

    def use_nonce(self, device_id: str, nonce: str, expires_at: int) -> bool:
        """Remember a request nonce; False if it was seen before (a replay)."""
        statement = self._insert_ignoring(nonces, "device_id", "nonce").values(
            device_id=device_id, nonce=nonce, expires_at=expires_at
        )
        return self._changed(statement.returning(nonces.c.nonce))

    def purge_nonces(self, device_id: str, now: int) -> None:
        """Forget a device's nonces whose timestamps could no longer pass the freshness check.

        Per device, under the device lock: a global purge would make writers of different devices
        wait on (and possibly deadlock over) each other's expired rows."""
        self._connection.execute(
            delete(nonces).where(nonces.c.device_id == device_id, nonces.c.expires_at < now)
        )

    def next_command_seq(self, device_id: str) -> int:
        """The sequence number the unit's next command gets (1 for its first)."""
        value = self._connection.execute(
            select(func.max(commands.c.seq)).where(commands.c.device_id == device_id)
        ).scalar()
        return 1 if value is None else int(value) + 1

    def insert_command(self, row: CommandRow) -> None:
        """Queue a signed command."""
        self._connection.execute(commands.insert().values(**row.__dict__))

    def commands(self, device_id: str) -> list[CommandRow]:
        """Every command of a unit, by sequence number."""
        rows = self._connection.execute(
            select(commands).where(commands.c.device_id == device_id).order_by(commands.c.seq)
        )
        return [_command(row) for row in rows]

    def pending_commands(self, device_id: str, now: int, limit: int) -> list[CommandRow]:
        """Unanswered, unexpired commands of a unit, oldest first, at most ``limit``."""
        c = commands.c
        rows = self._connection.execute(
            select(commands)
            .where(c.device_id == device_id, c.answered_at.is_(None), c.expires_at > now)
            .order_by(c.seq)
            .limit(limit)
        )
        return [_command(row) for row in rows]

    def mark_delivered(self, ids: Sequence[str], now: int) -> None:
        """Note the first time commands went out in an upload answer."""
        if ids:
            self._connection.execute(
                update(commands)
                .where(commands.c.id.in_(list(ids)), commands.c.delivered_at.is_(None))
                .values(delivered_at=now)
            )

    def answer_command(
        self, device_id: str, command_id: str, seq: int, answer: tuple[str, str, int], now: int
    ) -> bool:
        """Record a unit's first answer ``(outcome, reason, record seq)``; False if it names no
        unanswered command of this unit (a later answer never overwrites the first)."""
        c = commands.c
        outcome, reason, record_seq = answer
        statement = (
            update(commands)
            .where(c.id == command_id, c.device_id == device_id, c.seq == seq,
                   c.answered_at.is_(None))
            .values(answered_at=now, outcome=outcome, reason=reason, answer_seq=record_seq)
            .returning(c.id)
        )
        return self._changed(statement)


def _command(row: Any) -> CommandRow:
    values = dict(row._mapping)
    values["cose"] = bytes(values["cose"])
    return CommandRow(**values)


_REFUSAL_COLUMNS = (
    refusals.c.source,
    refusals.c.code,
    refusals.c.count,
    refusals.c.bytes,
    refusals.c.claimed_device,
    refusals.c.first_at,
    refusals.c.last_at,
    refusals.c.alerted_at,
)


def _device(row: Any) -> DeviceRow:
    return DeviceRow(row[0], bytes(row[1]), row[2], row[3], row[4], row[5])
