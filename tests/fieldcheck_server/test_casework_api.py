"""The casework routes and pages through the real app, signed in as each role."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_server.api.app import create_app
from fieldcheck_server.api.casework import CaseworkSettings
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, commands, people
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.domain.review_scan import scan
from fieldcheck_server.domain.roles import SYSTEM, Role
from tests.fieldcheck_server.casekit import Chain
from tests.fieldcheck_server.operator_client import BASE_URL, FAST, bearer, csrf_of, sign_in
from tests.fieldcheck_server.serverkit import LIMITS
from tests.firmware.sync.devicesim import SimDevice

DAY = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.fixture
def app_client(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    settings = CaseworkSettings(Ed25519PrivateKey.generate(), "https://{s}.tiles.example/{z}/{x}/{y}.png")
    app = create_app(IngestService(db, clock, LIMITS), access=FAST, casework=settings)
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def casefile(db: Database, device: SimDevice, app_client: TestClient, clock: ManualClock) -> None:
    """Ana (alice's caseload) wears the unit, which sent a schedule, a no_match and fixes."""
    people.add_person(db, SYSTEM, "C-1", "Ana", ["es"], "alice", 0)
    people.add_person(db, SYSTEM, "C-2", "Ben", [], "bob", 0)
    people.assign(db, SYSTEM, "C-1", device.device_id, to_ms(DAY), "issued")
    chain = Chain(device)
    due = DAY + timedelta(hours=9)
    chain.event(DAY + timedelta(hours=7), "schedule", day="2026-11-24", mode="fixed",
                timezone="UTC", slots=1, due=due.isoformat()[11:])
    chain.checkin(due + timedelta(minutes=1), "no_match", slot=to_ms(due), score=0.31,
                  liveness=0.9, detector_confidence=0.8)
    for minute in range(3):
        chain.add(Kind.LOCATION, due + timedelta(minutes=5 + minute), {"interval": 60},
                  at=(52.52 + minute / 1000, 13.40))
    chain.upload(app_client, clock)
    scan(db, to_ms(DAY + timedelta(days=1)))


@pytest.mark.usefixtures("casefile")
def test_json_api_bounds_each_role(db: Database, app_client: TestClient) -> None:
    alice = bearer(db, Role.OFFICER, "alice")
    assert [p["case_number"] for p in app_client.get("/api/v1/persons", headers=alice).json()] \
        == ["C-1"]
    view = app_client.get("/api/v1/persons/C-1/timeline", headers=alice).json()
    checkin = next(e for e in view["entries"] if e["kind"] == "checkin")
    assert (checkin["verdict"], checkin["receipt"], checkin["trigger"]) == ("no_match", 1,
                                                                            "scheduled")
    assert (checkin["score"], checkin["liveness"], checkin["quality"]) == (0.31, 0.9, 0.8)
    assert [w["status"] for w in view["expected"]] == ["failed"]
    assert app_client.get("/api/v1/persons/C-2/timeline", headers=alice).status_code == 404
    tech = bearer(db, Role.TECHNICIAN)
    assert app_client.get("/api/v1/persons", headers=tech).status_code == 403
    assert app_client.get("/api/v1/reviews").status_code == 401
    [item] = app_client.get("/api/v1/reviews", headers=alice).json()
    auditor = bearer(db, Role.AUDITOR)
    path = f"/api/v1/reviews/{item['id']}/decision"
    body = {"decision": "finding", "reason": "not her face"}
    assert app_client.post(path, json=body, headers=auditor).status_code == 403
    decided = app_client.post(path, json=body, headers=alice)
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"] == "alice (token tests)"
    assert app_client.post(path, json=body, headers=alice).status_code == 409
    [entry] = [e for e in audit.newest(db, 20) if e.action == "review.decide"]
    assert (entry.actor, entry.target) == ("alice (token tests)", str(item["id"]))


@pytest.mark.usefixtures("casefile")
def test_timeline_page_map_and_command_buttons(db: Database, device: SimDevice,
                                               app_client: TestClient) -> None:
    sign_in(app_client, db, Role.OFFICER, "alice")
    page = app_client.get("/people/C-1")
    assert page.status_code == 200
    assert 'id="timeline-map"' in page.text and "/static/vendor/leaflet/leaflet.js" in page.text
    assert "https://*.tiles.example" in page.headers["content-security-policy"]
    assert "failed" in page.text and "0.31" in page.text
    assert app_client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert app_client.get("/static/casework/timeline.js").status_code == 200
    refused = app_client.post("/people/C-1/commands", data={"kind": "checkin"},
                              follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    sent = app_client.post("/people/C-1/commands",
                           data={"kind": "message", "text": "call your officer",
                                 "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    [queued] = commands.listing(db, device.device_id, 0)
    assert (queued.row.kind, queued.row.actor) == ("message", "alice")
    assert app_client.get("/people/C-2").status_code == 404


@pytest.mark.usefixtures("casefile")
def test_review_page_decision_form(db: Database, app_client: TestClient) -> None:
    sign_in(app_client, db, Role.OFFICER, "alice")
    page = app_client.get("/review")
    assert page.status_code == 200 and "no_match" in page.text
    [item] = app_client.get("/api/v1/reviews").json()
    form = {"decision": "no_finding", "reason": "lighting; rechecked", "csrf_token": "wrong"}
    path = f"/review/{item['id']}/decision"
    assert app_client.post(path, data=form, follow_redirects=False).status_code == 403
    form["csrf_token"] = csrf_of(page.text)
    assert app_client.post(path, data=form, follow_redirects=False).status_code == 303
    assert "Nothing to review" in app_client.get("/review").text
