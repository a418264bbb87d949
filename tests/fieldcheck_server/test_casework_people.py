"""People, assignments with history, caseloads enforced in the domain, and expected windows
judged from real signed records uploaded through the ingest API."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import people, registry
from fieldcheck_server.domain.expected import Status
from fieldcheck_server.domain.roles import SYSTEM, Principal, Role
from fieldcheck_server.domain.timeline import timeline
from fieldcheck_server.errors import CaseworkError, Forbidden
from tests.fieldcheck_server.casekit import Chain
from tests.firmware.sync.devicesim import SimDevice

ADMIN = SYSTEM
ALICE = Principal(0, "alice", Role.OFFICER)
BOB = Principal(0, "bob", Role.OFFICER)
DAY = datetime(2026, 11, 24, tzinfo=UTC)


def _two_people(db: Database) -> None:
    people.add_person(db, SYSTEM, "C-1", "Ana", ["es", "en"], "alice", 0)
    people.add_person(db, SYSTEM, "C-2", "Ben", ["ht"], "bob", 0)


def test_officers_see_only_their_caseload(db: Database) -> None:
    _two_people(db)
    assert [p.row.case_number for p in people.people(db, ALICE)] == ["C-1"]
    assert [p.row.case_number for p in people.people(db, ADMIN)] == ["C-1", "C-2"]
    assert people.people(db, ALICE)[0].languages == ("es", "en")
    with pytest.raises(CaseworkError, match="no person 'C-2' on your caseload"):
        people.history(db, ALICE, "C-2")
    with pytest.raises(Forbidden, match="technician role sees no personal timelines"):
        people.people(db, Principal(0, "tech", Role.TECHNICIAN))


def test_a_case_number_is_unique_and_text_is_checked(db: Database) -> None:
    _two_people(db)
    with pytest.raises(CaseworkError, match="taken"):
        people.add_person(db, SYSTEM, "C-1", "Other", [], None, 0)
    with pytest.raises(CaseworkError, match="printable"):
        people.add_person(db, SYSTEM, "C-3", "bad\nname", [], None, 0)
    with pytest.raises(CaseworkError, match="languages are codes"):
        people.add_person(db, SYSTEM, "C-3", "Cy", ["english please"], None, 0)


def test_one_device_at_a_time_with_history(db: Database, device: SimDevice) -> None:
    _two_people(db)
    other = SimDevice(seed=12)
    registry.register(db, other.device_id, other.public_key.hex(), "unit 2", 0)
    people.assign(db, SYSTEM, "C-1", device.device_id, 100, "issued")
    with pytest.raises(CaseworkError, match="assigned to C-1"):
        people.assign(db, SYSTEM, "C-2", device.device_id, 150, "issued")
    people.assign(db, SYSTEM, "C-1", other.device_id, 200, "swap: strap broken")
    people.assign(db, SYSTEM, "C-2", device.device_id, 300, "reissued")
    history = people.history(db, ADMIN, "C-1")
    assert [(a.device_id, a.start_at, a.end_at) for a in history] == [
        (device.device_id, 100, 200), (other.device_id, 200, None)]
    assert [p.device_id for p in people.people(db, ADMIN)] == [other.device_id, device.device_id]
    people.unassign(db, SYSTEM, "C-2", 400)
    with pytest.raises(CaseworkError, match="wears no device"):
        people.unassign(db, SYSTEM, "C-2", 500)


def _day_of_records(chain: Chain) -> tuple[datetime, ...]:
    """A day with four windows: matched, no_match, reported missed (unit off), silent."""
    dues = tuple(DAY + timedelta(hours=h) for h in (9, 12, 15, 18))
    chain.event(DAY + timedelta(hours=7), "boot")
    chain.event(DAY + timedelta(hours=7, minutes=1), "schedule", day="2026-11-24", mode="random",
                timezone="UTC", slots=4, due=",".join(d.isoformat()[11:] for d in dues))
    chain.checkin(dues[0] + timedelta(minutes=2), "match", slot=to_ms(dues[0]), score=0.91)
    chain.checkin(dues[1] - timedelta(minutes=5), "no_match", score=0.2)
    chain.event(dues[2] + timedelta(hours=1), "boot")
    chain.event(dues[2] + timedelta(hours=1, minutes=1), "checkin_missed",
                due=dues[2].isoformat(), closed=(dues[2] + timedelta(minutes=15)).isoformat(),
                reason="unit_off")
    return dues


def test_expected_against_received(db: Database, device: SimDevice, client: TestClient,
                                   clock: ManualClock) -> None:
    _two_people(db)
    people.assign(db, SYSTEM, "C-1", device.device_id, to_ms(DAY), "issued")
    chain = Chain(device)
    dues = _day_of_records(chain)
    chain.upload(client, clock)
    soon = timeline(db, ALICE, "C-1", dues[3] + timedelta(minutes=30))
    assert [(o.window.due, o.status, o.reason) for o in soon.expected] == [
        (dues[0], Status.COMPLETED, "match"),
        (dues[1], Status.FAILED, "no_match"),
        (dues[2], Status.MISSED, "unit_off"),
        (dues[3], Status.OPEN, "window not settled yet"),
    ]
    later = timeline(db, ALICE, "C-1", dues[3] + timedelta(hours=3))
    assert (later.expected[3].status, later.expected[3].reason) == (Status.MISSED,
                                                                    "nothing arrived")
    assert later.expected[0].checkin_seqs == (2,)
    assert len(later.entries) == len(chain.cose)


def test_unit_off_gap_from_boot_records(db: Database, device: SimDevice, client: TestClient,
                                        clock: ManualClock) -> None:
    """A window the unit slept through without saying so is missed with unit_off, from the
    gap between its last record and the next boot."""
    people.add_person(db, SYSTEM, "C-9", "Dee", [], None, 0)
    people.assign(db, SYSTEM, "C-9", device.device_id, to_ms(DAY), "issued")
    chain = Chain(device)
    due = DAY + timedelta(hours=10)
    chain.event(DAY + timedelta(hours=8), "schedule", day="2026-11-24", mode="fixed",
                timezone="UTC", slots=1, due=due.isoformat()[11:])
    chain.event(DAY + timedelta(hours=13), "boot")
    chain.upload(client, clock)
    [outcome] = timeline(db, ADMIN, "C-9", DAY + timedelta(hours=11)).expected
    assert (outcome.status, outcome.reason) == (Status.MISSED, "unit_off")


def test_records_show_only_while_the_person_wore_the_device(
        db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> None:
    _two_people(db)
    chain = Chain(device)
    chain.event(DAY + timedelta(hours=1), "boot")
    chain.event(DAY + timedelta(hours=5), "tamper", strap="open")
    chain.upload(client, clock)
    people.assign(db, SYSTEM, "C-1", device.device_id, to_ms(DAY), "issued")
    people.unassign(db, SYSTEM, "C-1", to_ms(DAY + timedelta(hours=3)))
    people.assign(db, SYSTEM, "C-2", device.device_id, to_ms(DAY + timedelta(hours=3)), "moved")
    assert [e.record.seq for e in timeline(db, ALICE, "C-1", DAY).entries] == [0]
    assert [e.record.seq for e in timeline(db, BOB, "C-2", DAY).entries] == [1]
