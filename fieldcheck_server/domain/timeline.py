"""A person's timeline: the verified records of every device they wore, while they wore it,
and the expected windows of those devices beside what arrived."""

from dataclasses import dataclass
from datetime import datetime

from fieldcheck_protocol.record import Record, to_ms
from fieldcheck_server.db.casework import AssignmentRow, CaseTx, PersonRow, ZoneRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain.expected import ExpectedSettings, Outcome, judge
from fieldcheck_server.domain.export import listing
from fieldcheck_server.domain.people import Viewer, person_for


@dataclass(frozen=True)
class Entry:
    """One verified record on a person's timeline."""

    device_id: str
    record: Record
    received_at: int


@dataclass(frozen=True)
class Timeline:
    """What a person's devices said while they wore them, oldest first."""

    person: PersonRow
    assignments: list[AssignmentRow]
    entries: list[Entry]
    expected: list[Outcome]
    zones: list[ZoneRow]


def _during(item: AssignmentRow, when: datetime) -> bool:
    at = to_ms(when)
    return item.start_at <= at and (item.end_at is None or at < item.end_at)


def timeline(db: Database, viewer: Viewer, case_number: str, now: datetime,
             settings: ExpectedSettings | None = None) -> Timeline:
    """The person's timeline, if ``viewer`` may see them.

    Only records that verify against the device key and chain are on it; a device's records
    from before or after the person wore it are not theirs."""
    with db.read() as tx:
        person = person_for(tx, viewer, case_number)
        worn = CaseTx(tx).assignments(person_id=person.id)
        zones = CaseTx(tx).zones(person.id)
    entries: list[Entry] = []
    expected: list[Outcome] = []
    for item in worn:
        rows = [r for r in listing(db, item.device_id).rows
                if r.status == "verified" and r.record is not None]
        records = [r.record for r in rows if r.record is not None]
        entries += [Entry(item.device_id, r.record, r.received_at) for r in rows
                    if r.record is not None and _during(item, r.record.device_time)]
        expected += [o for o in judge(records, now, settings) if _during(item, o.window.due)]
    entries.sort(key=lambda e: e.record.device_time)
    expected.sort(key=lambda o: o.window.due)
    return Timeline(person, worn, entries, expected, zones)
