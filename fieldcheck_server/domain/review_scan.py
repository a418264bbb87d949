"""Fill the review queue from what the server holds: new verified records of every device,
the expected windows that ended missed, and the alerts ingest raised for refused input.

Each item has a ``source`` naming what raised it (``record:<device>:<seq>``, ``zone:...``,
``window:<device>:<due ms>``, ``alert:<id>``), so a scan run twice, or a missed window reported
both by the unit and by the server's own count, queues it once. Every new item also goes to
the webhook outbox in the same transaction.
"""

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldcheck_protocol.record import Kind, Record, RecordError, from_ms, to_json, to_ms
from fieldcheck_protocol.signature import record_hash, verify_record
from fieldcheck_protocol.wire import ErrorCode
from fieldcheck_server.db.casework import AssignmentRow, CaseTx, NewReview
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import AlertRow, DeviceRow
from fieldcheck_server.domain import webhooks
from fieldcheck_server.domain.expected import ExpectedSettings, Status, judge
from fieldcheck_server.domain.people import wearer_at
from fieldcheck_server.domain.review import ReviewKind
from fieldcheck_server.domain.zones import Zone, ready

logger = logging.getLogger(__name__)

ALERT_PAGE = 500
EVENT_KINDS = {"tamper": ReviewKind.TAMPER, "power": ReviewKind.POWER,
               "battery": ReviewKind.POWER}
ALERT_KINDS = {ErrorCode.FORK.value: ReviewKind.FORK, ErrorCode.GAP.value: ReviewKind.SEQUENCE_GAP,
               ErrorCode.BAD_SIGNATURE.value: ReviewKind.BAD_SIGNATURE,
               ErrorCode.BAD_REQUEST_SIGNATURE.value: ReviewKind.BAD_SIGNATURE,
               ErrorCode.WRONG_DEVICE.value: ReviewKind.BAD_SIGNATURE}


@dataclass(frozen=True)
class Found:
    """One thing to queue before its person is known."""

    source: str
    kind: ReviewKind
    seq: int | None
    at: datetime
    summary: str
    evidence: dict[str, Any]


def _record_evidence(record: Record, cose: bytes) -> dict[str, Any]:
    return {"device_id": record.device_id, "seq": record.seq,
            "record_hash": record_hash(cose).hex(), "record": to_json(record)}


def _aware(text: Any) -> datetime | None:
    """A time with a zone from an event detail, or None."""
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _checkin(record: Record, settings: ExpectedSettings) -> tuple[ReviewKind, str] | None:
    liveness = record.body.get("liveness")
    if liveness is not None and liveness < settings.liveness_pass:
        return ReviewKind.LIVENESS_FAILED, f"check-in liveness {liveness:.2f} below the pass mark"
    verdict = record.body.get("verdict")
    if verdict == "no_match":
        return ReviewKind.NO_MATCH, "check-in face did not match the enrolled template"
    if verdict == "unknown":
        return ReviewKind.UNKNOWN, "check-in could not decide (no usable face)"
    return None


def found_in(record: Record, cose: bytes, zones: Sequence[Zone],
             settings: ExpectedSettings) -> Iterator[Found]:
    """What one verified record puts in the queue."""
    base = f"{record.device_id}:{record.seq}"
    evidence = _record_evidence(record, cose)
    flagged: tuple[ReviewKind, str] | None = None
    if record.kind is Kind.CHECKIN:
        flagged = _checkin(record, settings)
    elif record.kind is Kind.EVENT:
        kind = str(record.body.get("type"))
        if kind == "checkin_missed":
            details = record.body.get("details") or {}
            due = _aware(details.get("due")) or record.device_time
            yield Found(f"window:{record.device_id}:{to_ms(due)}", ReviewKind.MISSED_WINDOW,
                        record.seq, due, f"window due {due.isoformat()} missed "
                        f"({details.get('reason', '?')}, said the unit)", evidence)
        elif kind in EVENT_KINDS:
            flagged = EVENT_KINDS[kind], f"{kind} event"
    if flagged is not None:
        yield Found(f"record:{base}", flagged[0], record.seq, record.device_time, flagged[1],
                    evidence)
    if record.fix is not None:
        for zone in zones:
            why = zone.broken_by(record.fix, record.device_time)
            if why is not None:
                zoned = evidence | {"zone": {"id": zone.row.id, "name": zone.row.name,
                                             "rule": zone.rule.value, "hours": zone.row.hours,
                                             "geometry": zone.row.geometry},
                                    "hdop": record.fix.hdop}
                yield Found(f"zone:{base}:{zone.row.id}", ReviewKind.ZONE, record.seq,
                            record.device_time, why, zoned)


class _Queue:
    """Adds found items with their person, and their webhook alert, in one transaction."""

    def __init__(self, cases: CaseTx, now_ms: int) -> None:
        self.cases, self.now_ms, self.added = cases, now_ms, 0

    def add(self, found: Found, device_id: str | None,
            worn: Sequence[AssignmentRow]) -> None:
        wearer = wearer_at(worn, to_ms(found.at))
        item = NewReview(found.source, found.kind.value, device_id,
                         wearer.person_id if wearer else None, found.seq, to_ms(found.at),
                         found.summary, _json(found.evidence))
        review_id = self.cases.add_review(item, self.now_ms)
        if review_id is None:
            return
        self.added += 1
        person = self.cases.person_by_id(wearer.person_id) if wearer else None
        webhooks.enqueue(self.cases, found.source, {
            "kind": found.kind.value, "summary": found.summary, "review_id": review_id,
            "device_id": device_id, "case_number": person.case_number if person else None,
            "at_ms": to_ms(found.at)}, self.now_ms)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True)


def _zones_of(cases: CaseTx, worn: Sequence[AssignmentRow], record: Record,
              cache: dict[int, list[Zone]]) -> list[Zone]:
    wearer = wearer_at(worn, to_ms(record.device_time))
    if wearer is None:
        return []
    if wearer.person_id not in cache:
        cache[wearer.person_id] = [ready(z) for z in cases.zones(wearer.person_id)]
    return cache[wearer.person_id]


def _readable(device: DeviceRow, rows: list[tuple[int, bytes]]) -> list[tuple[Record, bytes]]:
    """The rows whose signature verifies with the device key (ingest checked the chain when it
    stored them; a row that no longer verifies is the export's ``tampered``, not a review)."""
    out = []
    for seq, cose in rows:
        try:
            out.append((verify_record(cose, device.public_key), cose))
        except RecordError as err:
            logger.warning("stored record %d of %s no longer verifies (%s): skipped", seq,
                           device.device_id, err.code)
    return out


def _missed(device_id: str, records: Sequence[Record], now_ms: int,
            settings: ExpectedSettings) -> Iterator[Found]:
    for outcome in judge(records, from_ms(now_ms, "now"), settings):
        if outcome.status is Status.MISSED:
            due = outcome.window.due
            yield Found(f"window:{device_id}:{to_ms(due)}", ReviewKind.MISSED_WINDOW, None, due,
                        f"window due {due.isoformat()} missed ({outcome.reason})",
                        {"device_id": device_id, "due": due.isoformat(),
                         "reason": outcome.reason, "schedule_seq": outcome.window.schedule_seq})


def scan_device(db: Database, device: DeviceRow, now_ms: int,
                settings: ExpectedSettings) -> int:
    """Queue what the device's new records and its recently missed windows call for.

    Reads only records after the scan's cursor and those within ``settings.lookback`` (for the
    windows), so a scan costs what arrived, not the device's whole history."""
    device_id = device.device_id
    since = now_ms - int(settings.lookback.total_seconds() * 1000)
    with db.write() as tx:
        cases = CaseTx(tx)
        cursor = cases.cursor(f"records:{device_id}")
        readable = _readable(device, cases.records_to_scan(device_id, cursor, since))
        worn = cases.assignments(device_id=device_id)
        cache: dict[int, list[Zone]] = {}
        queue = _Queue(cases, now_ms)
        for record, cose in readable:
            if record.seq > cursor:
                zones = _zones_of(cases, worn, record, cache)
                for found in found_in(record, cose, zones, settings):
                    queue.add(found, device_id, worn)
        for found in _missed(device_id, [r for r, _ in readable], now_ms, settings):
            queue.add(found, device_id, worn)
        if readable:
            cases.set_cursor(f"records:{device_id}", max(cursor, readable[-1][0].seq))
    return queue.added


def _alert_found(alert: AlertRow) -> Found:
    kind = ALERT_KINDS.get(alert.code, ReviewKind.REFUSED_INPUT)
    return Found(f"alert:{alert.id}", kind, None, from_ms(alert.created_at, "alert"),
                 f"{alert.code}: {alert.message}"[:500],
                 {"alert_id": alert.id, "code": alert.code, "message": alert.message,
                  "quarantine_id": alert.quarantine_id, "device_id": alert.device_id})


def scan_alerts(db: Database, now_ms: int) -> int:
    """Queue every alert ingest raised since the last scan."""
    with db.write() as tx:
        cases = CaseTx(tx)
        queue = _Queue(cases, now_ms)
        cursor = cases.cursor("alerts")
        for alert in cases.alerts_after(cursor, ALERT_PAGE):
            worn = cases.assignments(device_id=alert.device_id) if alert.device_id else []
            queue.add(_alert_found(alert), alert.device_id, worn)
            cursor = alert.id
        cases.set_cursor("alerts", cursor)
    return queue.added


def scan(db: Database, now_ms: int, settings: ExpectedSettings | None = None) -> int:
    """One pass over every device and the alerts; returns how many items were queued."""
    settings = settings or ExpectedSettings()
    with db.read() as tx:
        devices = tx.devices()
    added = sum(scan_device(db, d, now_ms, settings) for d in devices)
    added += scan_alerts(db, now_ms)
    if added:
        logger.info("review scan queued %d item(s)", added)
    return added
