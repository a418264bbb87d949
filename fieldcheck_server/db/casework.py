"""Casework operations inside one transaction: people, assignments, zones, reviews, webhooks.

A :class:`CaseTx` wraps the :class:`~fieldcheck_server.db.tx.Tx` of the transaction it works in,
so casework and ingest operations can share one commit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fieldcheck_server.db.tables import (
    alerts,
    assignments,
    persons,
    records,
    review_cursors,
    review_images,
    reviews,
    webhook_outbox,
    webhooks,
    zones,
)
from fieldcheck_server.db.tx import AlertRow, Tx


@dataclass(frozen=True)
class PersonRow:
    """A person under supervision."""

    id: int
    case_number: str
    name: str
    languages: str
    officer: str | None
    created_at: int


@dataclass(frozen=True)
class AssignmentRow:
    """A device worn by a person from ``start_at`` until ``end_at`` (None: still)."""

    id: int
    person_id: int
    device_id: str
    start_at: int
    end_at: int | None
    actor: str
    reason: str


@dataclass(frozen=True)
class ZoneRow:
    """An inclusion or exclusion area of a person, geometry as JSON text."""

    id: int
    person_id: int
    name: str
    rule: str
    geometry: str
    hours: str
    timezone: str
    created_at: int
    actor: str


@dataclass(frozen=True)
class ReviewRow:
    """One item of the review queue and, once decided, its decision."""

    id: int
    source: str
    kind: str
    device_id: str | None
    person_id: int | None
    seq: int | None
    at: int
    created_at: int
    summary: str
    evidence: str
    decision: str | None
    reason: str | None
    decided_by: str | None
    decided_at: int | None


@dataclass(frozen=True)
class NewReview:
    """A review item to add (once per ``source``)."""

    source: str
    kind: str
    device_id: str | None
    person_id: int | None
    seq: int | None
    at: int
    summary: str
    evidence: str


@dataclass(frozen=True)
class WebhookRow:
    """A receiver of alerts."""

    id: int
    url: str
    secret: bytes
    created_at: int
    disabled_at: int | None


@dataclass(frozen=True)
class OutboxRow:
    """One alert waiting for (or delivered to) one receiver."""

    webhook_id: int
    event_id: str
    body: bytes
    created_at: int
    attempts: int
    next_at: int
    delivered_at: int | None
    last_error: str | None


class CaseTx:
    """Casework statements in the transaction of ``tx``."""

    def __init__(self, tx: Tx) -> None:
        self._c = tx.connection
        self._postgres = self._c.dialect.name == "postgresql"

    def _insert_ignoring(self, table: Table, *keys: str) -> Insert:
        insert = postgresql.insert if self._postgres else sqlite.insert
        return insert(table).on_conflict_do_nothing(index_elements=list(keys))

    # people ------------------------------------------------------------------------------

    def insert_person(self, case_number: str, name: str, languages: str, officer: str | None,
                      now: int) -> int | None:
        """Add a person; None when the case number is taken."""
        statement = self._insert_ignoring(persons, "case_number").values(
            case_number=case_number, name=name, languages=languages, officer=officer,
            created_at=now).returning(persons.c.id)
        value = self._c.execute(statement).scalar()
        return int(value) if value is not None else None

    def person(self, case_number: str) -> PersonRow | None:
        """The person with this case number, or None."""
        row = self._c.execute(select(persons).where(persons.c.case_number == case_number)).first()
        return PersonRow(*row) if row else None

    def person_by_id(self, person_id: int) -> PersonRow | None:
        """The person with this id, or None."""
        row = self._c.execute(select(persons).where(persons.c.id == person_id)).first()
        return PersonRow(*row) if row else None

    def persons(self, officer: str | None) -> list[PersonRow]:
        """Everyone (``officer`` None) or one officer's caseload, by case number."""
        query = select(persons).order_by(persons.c.case_number)
        if officer is not None:
            query = query.where(persons.c.officer == officer)
        return [PersonRow(*row) for row in self._c.execute(query)]

    def set_officer(self, person_id: int, officer: str | None) -> None:
        """Move a person onto an officer's caseload (None: off every caseload)."""
        self._c.execute(update(persons).where(persons.c.id == person_id).values(officer=officer))

    # assignments -------------------------------------------------------------------------

    def open_assignment(self, *, person_id: int | None = None,
                        device_id: str | None = None) -> AssignmentRow | None:
        """The open assignment of a person or of a device, or None."""
        a = assignments.c
        where = a.person_id == person_id if person_id is not None else a.device_id == device_id
        row = self._c.execute(select(assignments).where(where, a.end_at.is_(None))).first()
        return AssignmentRow(*row) if row else None

    def insert_assignment(self, person_id: int, device_id: str, now: int, actor: str,
                          reason: str) -> None:
        """Open an assignment from ``now``."""
        self._c.execute(assignments.insert().values(
            person_id=person_id, device_id=device_id, start_at=now, actor=actor, reason=reason))

    def end_assignment(self, assignment_id: int, now: int) -> None:
        """Close an open assignment at ``now``."""
        self._c.execute(update(assignments).where(assignments.c.id == assignment_id)
                        .values(end_at=now))

    def assignments(self, *, person_id: int | None = None,
                    device_id: str | None = None) -> list[AssignmentRow]:
        """A person's or a device's assignment history, oldest first."""
        a = assignments.c
        where = a.person_id == person_id if person_id is not None else a.device_id == device_id
        rows = self._c.execute(select(assignments).where(where).order_by(a.start_at, a.id))
        return [AssignmentRow(*row) for row in rows]

    # zones -------------------------------------------------------------------------------

    def insert_zone(self, values: dict[str, Any]) -> int:
        """Add a zone; returns its id."""
        value = self._c.execute(zones.insert().values(**values).returning(zones.c.id)).scalar()
        assert value is not None
        return int(value)

    def zones(self, person_id: int) -> list[ZoneRow]:
        """A person's zones, oldest first."""
        rows = self._c.execute(select(zones).where(zones.c.person_id == person_id)
                               .order_by(zones.c.id))
        return [ZoneRow(*row) for row in rows]

    # reviews -----------------------------------------------------------------------------

    def add_review(self, item: NewReview, now: int) -> int | None:
        """Queue an item for review; None when its source is already queued."""
        statement = self._insert_ignoring(reviews, "source").values(
            **item.__dict__, created_at=now).returning(reviews.c.id)
        value = self._c.execute(statement).scalar()
        return int(value) if value is not None else None

    def review(self, review_id: int) -> ReviewRow | None:
        """One review item, or None."""
        row = self._c.execute(select(reviews).where(reviews.c.id == review_id)).first()
        return ReviewRow(*row) if row else None

    def reviews(self, *, open_only: bool, person_ids: Sequence[int] | None,
                limit: int) -> list[ReviewRow]:
        """Review items, oldest first; ``person_ids`` None means every person's and none's."""
        r = reviews.c
        query = select(reviews).order_by(r.id).limit(limit)
        if open_only:
            query = query.where(r.decided_at.is_(None))
        if person_ids is not None:
            query = query.where(r.person_id.in_(list(person_ids)))
        return [ReviewRow(*row) for row in self._c.execute(query)]

    def decide(self, review_id: int, decision: str, reason: str, actor: str, now: int) -> bool:
        """Record the decision on an open item; False when it is decided already."""
        r = reviews.c
        statement = (update(reviews).where(r.id == review_id, r.decided_at.is_(None))
                     .values(decision=decision, reason=reason, decided_by=actor, decided_at=now)
                     .returning(r.id))
        return self._c.execute(statement).first() is not None

    def cursor(self, name: str) -> int:
        """How far the review scan has read ``name`` (-1: nothing yet)."""
        value = self._c.execute(select(review_cursors.c.position)
                                .where(review_cursors.c.name == name)).scalar()
        return -1 if value is None else int(value)

    def set_cursor(self, name: str, position: int) -> None:
        """Remember how far the scan has read ``name``."""
        insert = postgresql.insert if self._postgres else sqlite.insert
        statement = insert(review_cursors).values(name=name, position=position)
        self._c.execute(statement.on_conflict_do_update(
            index_elements=["name"], set_={"position": statement.excluded.position}))

    def alerts_after(self, alert_id: int, limit: int) -> list[AlertRow]:
        """Alerts with an id above ``alert_id``, oldest first."""
        rows = self._c.execute(select(alerts).where(alerts.c.id > alert_id)
                               .order_by(alerts.c.id).limit(limit))
        return [AlertRow(*row) for row in rows]

    def records_to_scan(self, device_id: str, after_seq: int,
                        since_ms: int) -> list[tuple[int, bytes]]:
        """(seq, cose) of a device's records after ``after_seq`` or from device time
        ``since_ms`` on, in sequence order."""
        r = records.c
        rows = self._c.execute(
            select(r.seq, r.cose)
            .where(r.device_id == device_id, or_(r.seq > after_seq, r.device_time >= since_ms))
            .order_by(r.seq))
        return [(int(row[0]), bytes(row[1])) for row in rows]

    def insert_image(self, values: dict[str, Any]) -> bool:
        """Keep a sealed review frame; False when that frame is kept already."""
        statement = self._insert_ignoring(review_images, "device_id", "seq", "frame").values(
            **values).returning(review_images.c.frame)
        return self._c.execute(statement).first() is not None

    def image_frames(self, device_id: str, seq: int, now: int) -> list[int]:
        """Frames kept (and not expired) for a device's record."""
        i = review_images.c
        rows = self._c.execute(select(i.frame).where(i.device_id == device_id, i.seq == seq,
                                                     i.expires_at > now).order_by(i.frame))
        return [int(row[0]) for row in rows]

    def image(self, device_id: str, seq: int, frame: int, now: int) -> bytes | None:
        """The sealed bytes of one unexpired frame, or None."""
        i = review_images.c
        value = self._c.execute(select(i.sealed).where(
            i.device_id == device_id, i.seq == seq, i.frame == frame, i.expires_at > now)).scalar()
        return bytes(value) if value is not None else None

    def delete_expired_images(self, now: int) -> int:
        """Delete every frame past its retention; returns how many."""
        i = review_images.c
        rows = self._c.execute(delete(review_images).where(i.expires_at <= now)
                               .returning(i.frame))
        return len(rows.all())

    # webhooks ----------------------------------------------------------------------------

    def insert_webhook(self, url: str, secret: bytes, now: int) -> int:
        """Add a receiver; returns its id."""
        value = self._c.execute(webhooks.insert().values(url=url, secret=secret, created_at=now)
                                .returning(webhooks.c.id)).scalar()
        assert value is not None
        return int(value)

    def webhooks(self, active_only: bool) -> list[WebhookRow]:
        """Receivers by id."""
        query = select(webhooks).order_by(webhooks.c.id)
        if active_only:
            query = query.where(webhooks.c.disabled_at.is_(None))
        return [WebhookRow(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in self._c.execute(query)]

    def disable_webhook(self, webhook_id: int, now: int) -> bool:
        """Stop sending to a receiver; False when there is no such active one."""
        w = webhooks.c
        statement = (update(webhooks).where(w.id == webhook_id, w.disabled_at.is_(None))
                     .values(disabled_at=now).returning(w.id))
        return self._c.execute(statement).first() is not None

    def enqueue(self, webhook_id: int, event_id: str, body: bytes, now: int) -> bool:
        """Put an alert in the outbox of one receiver; False when it is there already."""
        statement = self._insert_ignoring(webhook_outbox, "webhook_id", "event_id").values(
            webhook_id=webhook_id, event_id=event_id, body=body, created_at=now, attempts=0,
            next_at=now).returning(webhook_outbox.c.event_id)
        return self._c.execute(statement).first() is not None

    def due(self, now: int, limit: int) -> list[OutboxRow]:
        """Undelivered outbox rows due by ``now`` (active receivers only), oldest first."""
        o = webhook_outbox.c
        query = (select(webhook_outbox)
                 .join(webhooks, webhooks.c.id == o.webhook_id)
                 .where(o.delivered_at.is_(None), o.next_at <= now,
                        webhooks.c.disabled_at.is_(None))
                 .order_by(o.next_at, o.created_at).limit(limit))
        return [_outbox(row) for row in self._c.execute(query)]

    def outbox(self, pending_only: bool, limit: int) -> list[OutboxRow]:
        """Outbox rows, newest first."""
        o = webhook_outbox.c
        query = select(webhook_outbox).order_by(o.created_at.desc()).limit(limit)
        if pending_only:
            query = query.where(o.delivered_at.is_(None))
        return [_outbox(row) for row in self._c.execute(query)]

    def attempted(self, row: OutboxRow, now: int, error: str | None, next_at: int) -> None:
        """Record one delivery attempt: delivered (``error`` None) or retried at ``next_at``."""
        o = webhook_outbox.c
        values: dict[str, Any] = {"attempts": o.attempts + 1, "last_error": error}
        values |= {"delivered_at": now} if error is None else {"next_at": next_at}
        self._c.execute(update(webhook_outbox).where(
            o.webhook_id == row.webhook_id, o.event_id == row.event_id,
            o.delivered_at.is_(None)).values(**values))

    def reschedule_undelivered(self, now: int) -> int:
        """Make every undelivered row due at ``now``; returns how many."""
        o = webhook_outbox.c
        rows = self._c.execute(update(webhook_outbox).where(o.delivered_at.is_(None))
                               .values(next_at=now, attempts=0).returning(o.event_id))
        return len(rows.all())


def _outbox(row: Any) -> OutboxRow:
    values = dict(row._mapping)
    values["body"] = bytes(values["body"])
    return OutboxRow(**values)
