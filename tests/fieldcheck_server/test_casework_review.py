"""The review queue from real signed records and ingest's refusals; zones; decisions."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import people, review, zones
from fieldcheck_server.domain.review_scan import scan
from fieldcheck_server.domain.roles import SYSTEM, Principal, Role
from fieldcheck_server.errors import CaseworkError, Forbidden
from tests.fieldcheck_server.casekit import Chain
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice

ADMIN = SYSTEM
ALICE = Principal(0, "alice", Role.OFFICER)
BOB = Principal(0, "bob", Role.OFFICER)
AUDITOR = Principal(0, "audrey", Role.AUDITOR)
DAY = datetime(2026, 11, 24, tzinfo=UTC)
HOME = (52.5200, 13.4000)
HOME_ZONE = json.dumps({"circle": list(HOME), "radius_m": 150})
SQUARE = json.dumps({"polygon": [[52.0, 13.0], [52.0, 13.1], [52.1, 13.1], [52.1, 13.0]]})


def test_zone_geometry_and_hours() -> None:
    row = zones.ZoneRow(1, 1, "home", "inclusion", HOME_ZONE, "21:00-07:00", "UTC", 0, "root")
    home = zones.ready(row)
    assert home.contains(52.5205, 13.4005)
    assert not home.contains(52.53, 13.40)
    assert zones.parse_hours("21:00-07:00").holds(datetime(2026, 1, 1, 23).time())
    assert not zones.parse_hours("21:00-07:00").holds(datetime(2026, 1, 1, 12).time())
    square = zones.ready(zones.ZoneRow(2, 1, "park", "exclusion", SQUARE, "", "UTC", 0, "root"))
    assert square.contains(52.05, 13.05) and not square.contains(52.15, 13.05)
    assert zones.distance_m(52.52, 13.40, 52.53, 13.40) == pytest.approx(1112, rel=0.01)


@pytest.mark.parametrize(("geometry", "hours", "message"), [
    ('{"circle": [95, 13], "radius_m": 10}', "", "not on Earth"),
    ('{"circle": [52, 13], "radius_m": -1}', "", "radius_m"),
    ('{"polygon": [[52, 13], [52, 14]]}', "", "3 to"),
    ("not json", "", "a zone is"),
    (HOME_ZONE, "9-5", "HH:MM-HH:MM"),
])
def test_bad_zones_are_refused_with_what_to_write(db: Database, geometry: str, hours: str,
                                                  message: str) -> None:
    people.add_person(db, SYSTEM, "C-1", "Ana", [], "alice", 0)
    with pytest.raises(CaseworkError, match=message):
        zones.add_zone(db, SYSTEM, "C-1", "home", "inclusion", geometry, hours, "UTC", 0)


def _setup(db: Database, device: SimDevice) -> None:
    people.add_person(db, SYSTEM, "C-1", "Ana", [], "alice", 0)
    people.add_person(db, SYSTEM, "C-2", "Ben", [], "bob", 0)
    people.assign(db, SYSTEM, "C-1", device.device_id, to_ms(DAY), "issued")
    zones.add_zone(db, SYSTEM, "C-1", "home", "inclusion", HOME_ZONE, "21:00-07:00", "UTC", 0)


def _records(chain: Chain) -> None:
    chain.event(DAY + timedelta(hours=6), "boot")
    chain.checkin(DAY + timedelta(hours=8), "no_match", score=0.3)
    chain.checkin(DAY + timedelta(hours=9), "unknown")
    chain.checkin(DAY + timedelta(hours=10), "match", score=0.9, liveness=0.1)
    chain.checkin(DAY + timedelta(hours=11), "match", score=0.9, liveness=0.9)
    chain.event(DAY + timedelta(hours=12), "tamper", strap="open")
    chain.add(Kind.LOCATION, DAY + timedelta(hours=22), {"interval": 60}, at=(52.60, 13.40))
    chain.add(Kind.LOCATION, DAY + timedelta(hours=22, minutes=1), {"interval": 60}, at=HOME)


def test_scan_queues_each_kind_once_for_the_wearers_officer(
        db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> None:
    _setup(db, device)
    chain = Chain(device)
    _records(chain)
    chain.upload(client, clock)
    assert scan(db, to_ms(DAY + timedelta(days=1))) == 5
    assert scan(db, to_ms(DAY + timedelta(days=1))) == 0
    kinds = [(i.row.kind, i.row.seq) for i in review.queue(db, ALICE)]
    assert kinds == [("no_match", 1), ("unknown", 2), ("liveness_failed", 3), ("tamper", 5),
                     ("zone", 6)]
    zone_item = review.queue(db, ALICE)[-1]
    assert zone_item.evidence["zone"]["name"] == "home"
    assert zone_item.evidence["record"]["fix"]["lat"] == pytest.approx(52.60)
    assert review.queue(db, BOB) == []
    assert review.findings(db, ADMIN) == []


def test_sequence_gaps_forks_and_missed_windows_reach_the_queue(
        db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> None:
    _setup(db, device)
    chain = Chain(device)
    due = DAY + timedelta(hours=9)
    chain.event(DAY + timedelta(hours=7), "schedule", day="2026-11-24", mode="fixed",
                timezone="UTC", slots=1, due=due.isoformat()[11:])
    chain.upload(client, clock)
    rival = Chain(device)
    rival.event(DAY + timedelta(hours=7), "boot")  # another record at seq 0: a fork
    post(client, device, rival.cose, clock)
    chain.event(DAY + timedelta(hours=8), "boot")
    chain.event(DAY + timedelta(hours=8, minutes=1), "boot")
    post(client, device, chain.cose[2:], clock)  # seq 2 without seq 1: a gap
    scan(db, to_ms(due + timedelta(hours=3)))
    kinds = sorted(i.row.kind for i in review.queue(db, ADMIN))
    assert kinds == ["fork", "missed_window", "sequence_gap"]
    missed = next(i for i in review.queue(db, ALICE) if i.row.kind == "missed_window")
    assert missed.evidence["reason"] == "nothing arrived"


def test_decisions_need_a_reason_a_right_and_are_final(
        db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> None:
    _setup(db, device)
    chain = Chain(device)
    chain.checkin(DAY + timedelta(hours=8), "no_match", score=0.3)
    chain.upload(client, clock)
    scan(db, to_ms(DAY + timedelta(hours=9)))
    [item] = review.queue(db, ALICE)
    with pytest.raises(CaseworkError, match="needs a reason"):
        review.decide(db, ALICE, item.row.id, "finding", " ", 1)
    with pytest.raises(CaseworkError, match="finding or no_finding"):
        review.decide(db, ALICE, item.row.id, "guilty", "seen it", 1)
    with pytest.raises(Forbidden, match="auditor role cannot decide"):
        review.decide(db, AUDITOR, item.row.id, "finding", "seen it", 1)
    with pytest.raises(CaseworkError, match="no review item"):
        review.decide(db, BOB, item.row.id, "finding", "not my case", 1)
    decided = review.decide(db, ALICE, item.row.id, "finding", "face is someone else", 5)
    assert (decided.row.decision, decided.row.decided_by) == ("finding", "alice")
    with pytest.raises(CaseworkError, match="decided already"):
        review.decide(db, ADMIN, item.row.id, "no_finding", "overrule", 6)
    assert [f.row.id for f in review.findings(db, AUDITOR)] == [item.row.id]
    assert review.queue(db, ALICE) == []
