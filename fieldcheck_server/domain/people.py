"""People under supervision, the devices they wear over time, and officers' caseloads.

A person wears one device at a time and a device is worn by one person at a time; assigning
closes the previous assignment, so the history says who wore what when. Records stay the
device's: views find them by person through that history. Who may see whom is decided here,
given the caller (:class:`Viewer`), not only in the pages that show it.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from fieldcheck_server.db.casework import AssignmentRow, CaseTx, PersonRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import Tx
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import CaseConflict, CaseNotFound, CaseworkError, Forbidden

logger = logging.getLogger(__name__)

#: Roles that see every person; an officer sees their caseload; anyone else no person at all.
SEES_EVERYONE = frozenset({"admin", "auditor"})
OFFICER = "officer"
MAX_TEXT = 200


#: Who asks: an operator signed in to the API, or the host console (``cli_principal``).
Viewer = Principal


@dataclass(frozen=True)
class Person:
    """A person and the device they wear now (None: none)."""

    row: PersonRow
    device_id: str | None

    @property
    def languages(self) -> tuple[str, ...]:
        """The person's languages, as given."""
        return tuple(code for code in self.row.languages.split(",") if code)


def caseload_filter(viewer: Viewer) -> str | None:
    """The officer whose caseload bounds ``viewer`` (None: sees everyone)."""
    role = str(viewer.role)
    if role in SEES_EVERYONE:
        return None
    if role == OFFICER:
        return viewer.username
    raise Forbidden(f"the {role} role sees no personal timelines; ask an officer or admin")


def visible_person_ids(tx: Tx, viewer: Viewer) -> list[int] | None:
    """Ids of the persons ``viewer`` may see (None: all of them)."""
    officer = caseload_filter(viewer)
    if officer is None:
        return None
    return [row.id for row in CaseTx(tx).persons(officer)]


def person_for(tx: Tx, viewer: Viewer, case_number: str) -> PersonRow:
    """The person, if ``viewer`` may see them; an unknown and a hidden person look the same."""
    officer = caseload_filter(viewer)
    row = CaseTx(tx).person(case_number)
    if row is None or (officer is not None and row.officer != officer):
        raise CaseNotFound(f"no person {case_number!r} on your caseload: see "
                            "`fieldcheck person list`")
    return row


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT or any(ord(ch) < 32 for ch in value):
        raise CaseworkError(f"{what} must be 1 to {MAX_TEXT} printable characters")
    return value


def _languages(codes: Sequence[str]) -> str:
    clean = [code.strip().lower() for code in codes if code.strip()]
    if any(not (2 <= len(code) <= 8 and code.replace("-", "").isalnum()) for code in clean):
        raise CaseworkError("languages are codes like en, es, pt, ht (comma-separated)")
    return ",".join(clean)


def add_person(db: Database, who: Principal, case_number: str, name: str,
               languages: Sequence[str], officer: str | None, now_ms: int) -> PersonRow:
    """Add a person (a case number is unique); audited."""
    case_number, name = _text(case_number, "a case number"), _text(name, "a name")
    with db.write() as tx:
        cases = CaseTx(tx)
        if cases.insert_person(case_number, name, _languages(languages), officer, now_ms) is None:
            raise CaseConflict(f"case number {case_number!r} is taken: see "
                               "`fieldcheck person list`")
        row = cases.person(case_number)
        audit.record(tx, who, "person.add", case_number, now_ms, {"officer": officer})
    assert row is not None
    logger.info("added person %s (officer %s)", case_number, officer or "-")
    return row


def people(db: Database, viewer: Viewer) -> list[Person]:
    """The persons ``viewer`` may see, each with the device they wear now."""
    officer = caseload_filter(viewer)
    with db.read() as tx:
        cases = CaseTx(tx)
        out = []
        for row in cases.persons(officer):
            current = cases.open_assignment(person_id=row.id)
            out.append(Person(row, current.device_id if current else None))
    return out


def set_officer(db: Database, who: Principal, case_number: str, officer: str | None,
                now_ms: int) -> None:
    """Put a person on an officer's caseload (None: take them off every caseload); audited."""
    with db.write() as tx:
        cases = CaseTx(tx)
        row = cases.person(case_number)
        if row is None:
            raise CaseNotFound(f"no person {case_number!r}: see `fieldcheck person list`")
        cases.set_officer(row.id, officer)
        audit.record(tx, who, "person.officer", case_number, now_ms,
                     {"from": row.officer, "to": officer})


def assign(db: Database, who: Principal, case_number: str, device_id: str, now_ms: int,
           reason: str) -> AssignmentRow:
    """Give a person a device from now, ending the person's previous assignment.

    A device another person still wears is refused: unassign it first, so no record is ever
    shown under two people."""
    with db.write() as tx:
        tx.lock_device(device_id)
        cases = CaseTx(tx)
        row = cases.person(case_number)
        if row is None:
            raise CaseNotFound(f"no person {case_number!r}: see `fieldcheck person list`")
        if tx.device(device_id) is None:
            raise CaseNotFound(f"no unit {device_id}: see `fieldcheck device list`")
        worn = cases.open_assignment(device_id=device_id)
        if worn is not None and worn.person_id != row.id:
            other = cases.person_by_id(worn.person_id)
            raise CaseConflict(f"{device_id} is assigned to {other.case_number if other else '?'};"
                                f" run `fieldcheck person unassign` for them first")
        if worn is not None:
            raise CaseConflict(f"{case_number} already wears {device_id}")
        current = cases.open_assignment(person_id=row.id)
        if current is not None:
            cases.end_assignment(current.id, now_ms)
        cases.insert_assignment(row.id, device_id, now_ms, who.actor, _text(reason, "a reason"))
        opened = cases.open_assignment(person_id=row.id)
        audit.record(tx, who, "person.assign", case_number, now_ms,
                     {"device": device_id, "reason": reason.strip()})
    assert opened is not None
    logger.info("assigned %s to %s", device_id, case_number)
    return opened


def unassign(db: Database, who: Principal, case_number: str, now_ms: int) -> AssignmentRow:
    """End a person's current assignment; returns it as it was; audited."""
    with db.write() as tx:
        cases = CaseTx(tx)
        row = cases.person(case_number)
        current = cases.open_assignment(person_id=row.id) if row else None
        if row is None or current is None:
            raise CaseConflict(f"{case_number!r} wears no device now")
        cases.end_assignment(current.id, now_ms)
        audit.record(tx, who, "person.unassign", case_number, now_ms,
                     {"device": current.device_id})
    return current


def history(db: Database, viewer: Viewer, case_number: str) -> list[AssignmentRow]:
    """Every device the person wore, oldest first."""
    with db.read() as tx:
        row = person_for(tx, viewer, case_number)
        return CaseTx(tx).assignments(person_id=row.id)


def current_device(db: Database, viewer: Viewer, case_number: str) -> str:
    """The device the person wears now, if ``viewer`` may see them."""
    with db.read() as tx:
        row = person_for(tx, viewer, case_number)
        current = CaseTx(tx).open_assignment(person_id=row.id)
    if current is None:
        raise CaseConflict(f"{case_number} wears no device now: assign one first")
    return current.device_id


def wearer_at(assignments: Sequence[AssignmentRow], at_ms: int) -> AssignmentRow | None:
    """The assignment (of one device's history) covering ``at_ms``, or None."""
    for item in assignments:
        if item.start_at <= at_ms and (item.end_at is None or at_ms < item.end_at):
            return item
    return None
