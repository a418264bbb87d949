"""Expected against received: the windows a unit's signed ``schedule`` events promised, each
marked completed, failed, unknown or missed from the check-ins that arrived.

A ``schedule`` event lists a local day's due times with their UTC offsets. A window counts from
``early`` before its due time until ``grace`` after it (the unit's defaults; the event does not
carry them), and a check-in answers it when it names the slot (``slot`` = the due time) or, for
one that names none, when its device time falls inside. A window nobody answered is *open* until
``settle`` after its close (the unit may be asleep with the news), then *missed*; a unit's own
``checkin_missed`` event says so at once, with its reason. Gaps between the record before a
``boot`` and the boot itself are the unit being off; a window in one is missed with ``unit_off``.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from fieldcheck_protocol.record import Kind, Record, to_ms

logger = logging.getLogger(__name__)

UNIT_OFF = "unit_off"


class Status(StrEnum):
    """What became of one expected window."""

    COMPLETED = "completed"  # a check-in matched the enrolled face
    FAILED = "failed"  # a check-in said no_match, or its liveness check failed
    UNKNOWN = "unknown"  # check-ins came, none could decide
    MISSED = "missed"  # no check-in: the unit said so, or the settle time is over
    OPEN = "open"  # not yet decidable


@dataclass(frozen=True)
class ExpectedSettings:
    """How windows are judged on the server."""

    early: timedelta = timedelta(minutes=10)
    grace: timedelta = timedelta(minutes=15)
    #: How long after a window closes the server waits for the unit's news before ``missed``.
    settle: timedelta = timedelta(hours=2)
    #: A liveness score below this fails the check-in whatever the face said.
    liveness_pass: float = 0.5
    #: How far back the review scan re-reads records to judge windows (longer than a unit may
    #: sleep with its news plus ``settle``; older windows were judged by earlier scans).
    lookback: timedelta = timedelta(days=3)


@dataclass(frozen=True)
class Window:
    """One due time from a ``schedule`` event, and the event that published it."""

    due: datetime
    opens: datetime
    closes: datetime
    schedule_seq: int


@dataclass(frozen=True)
class Outcome:
    """A window and what arrived for it."""

    window: Window
    status: Status
    reason: str
    checkin_seqs: tuple[int, ...]


@dataclass(frozen=True)
class Gap:
    """The unit off: from its last record before a boot until the boot."""

    start: datetime
    end: datetime
    boot_seq: int


def _event(record: Record, kind: str) -> bool:
    return record.kind is Kind.EVENT and record.body.get("type") == kind


def _due_times(record: Record) -> list[datetime]:
    """The due times a ``schedule`` event lists (unreadable ones skipped, and logged)."""
    details = record.body.get("details") or {}
    day, listed = details.get("day"), details.get("due")
    if not isinstance(day, str) or not isinstance(listed, str):
        logger.warning("schedule event seq %d has no day or due list", record.seq)
        return []
    out = []
    for part in (p.strip() for p in listed.split(",") if p.strip()):
        try:
            when = datetime.fromisoformat(f"{day}T{part}")
        except ValueError:
            logger.warning("schedule event seq %d: due time %r unreadable", record.seq, part)
            continue
        if when.tzinfo is not None:
            out.append(when)
    return out


def windows(records: Iterable[Record], settings: ExpectedSettings) -> list[Window]:
    """The windows of every ``schedule`` event, the latest event of each day winning."""
    by_day: dict[str, list[Window]] = {}
    for record in records:
        if not _event(record, "schedule"):
            continue
        day = str((record.body.get("details") or {}).get("day"))
        by_day[day] = [Window(due, due - settings.early, due + settings.grace, record.seq)
                       for due in _due_times(record)]
    return sorted((w for day in by_day.values() for w in day), key=lambda w: w.due)


def off_gaps(records: Sequence[Record]) -> list[Gap]:
    """Each ``boot`` after an earlier record: the unit was off from that record until it."""
    gaps = []
    for before, record in zip(records, records[1:], strict=False):
        if _event(record, "boot") and record.device_time > before.device_time:
            gaps.append(Gap(before.device_time, record.device_time, record.seq))
    return gaps


def _answers(window: Window, checkins: Sequence[Record]) -> list[Record]:
    due_ms = to_ms(window.due)
    out = []
    for record in checkins:
        slot = record.body.get("slot")
        if slot == due_ms or (slot is None and window.opens <= record.device_time < window.closes):
            out.append(record)
    return out


def _verdict(answers: Sequence[Record], settings: ExpectedSettings) -> tuple[Status, str]:
    verdicts = []
    for record in answers:
        liveness = record.body.get("liveness")
        if liveness is not None and liveness < settings.liveness_pass:
            verdicts.append("liveness_failed")
        else:
            verdicts.append(str(record.body.get("verdict")))
    if "match" in verdicts:
        return Status.COMPLETED, "match"
    failed = next((v for v in verdicts if v in ("no_match", "liveness_failed")), None)
    if failed is not None:
        return Status.FAILED, failed
    return Status.UNKNOWN, "unknown"


def _missed_reasons(records: Iterable[Record]) -> dict[int, str]:
    """Due time (ms) -> reason, from the unit's own ``checkin_missed`` events."""
    out = {}
    for record in records:
        if not _event(record, "checkin_missed"):
            continue
        details = record.body.get("details") or {}
        try:
            due = datetime.fromisoformat(str(details.get("due")))
        except ValueError:
            continue
        if due.tzinfo is not None:
            out[to_ms(due)] = str(details.get("reason") or "missed")
    return out


def judge(records: Sequence[Record], now: datetime,
          settings: ExpectedSettings | None = None) -> list[Outcome]:
    """Every expected window of one device's records (in sequence order) and its outcome."""
    settings = settings or ExpectedSettings()
    checkins = [r for r in records if r.kind is Kind.CHECKIN]
    reported = _missed_reasons(records)
    gaps = off_gaps(records)
    out = []
    for window in windows(records, settings):
        answers = _answers(window, checkins)
        seqs = tuple(r.seq for r in answers)
        if answers:
            status, reason = _verdict(answers, settings)
        elif (said := reported.get(to_ms(window.due))) is not None:
            status, reason = Status.MISSED, said
        elif any(g.start < window.closes and window.opens < g.end for g in gaps):
            status, reason = Status.MISSED, UNIT_OFF
        elif now >= window.closes + settings.settle:
            status, reason = Status.MISSED, "nothing arrived"
        else:
            status, reason = Status.OPEN, "window not settled yet"
        out.append(Outcome(window, status, reason, seqs))
    return out
