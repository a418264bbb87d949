"""The operator API: device registration by technicians (bearer token or session), roles, CSRF."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, registry
from fieldcheck_server.domain.roles import Role
from tests.fieldcheck_server.operator_client import (
    BASE_URL,
    bearer,
    make_user,
    operator_app,
    sign_in,
)
from tests.firmware.sync.devicesim import SimDevice


@pytest.fixture
def api(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        yield client


def _unit(sim: SimDevice, label: str = "unit 7") -> dict[str, str]:
    return {"device_id": sim.device_id, "public_key": sim.public_key.hex(), "label": label}


def test_a_technician_registers_a_unit_and_it_is_audited(api: TestClient, db: Database) -> None:
    sim = SimDevice()
    answer = api.post("/api/v1/devices", json=_unit(sim), headers=bearer(db, Role.TECHNICIAN))
    assert answer.status_code == 200, answer.text
    assert answer.json()["device_id"] == sim.device_id
    assert answer.json()["revoked_at"] is None
    assert [row.device_id for row in registry.devices(db)] == [sim.device_id]
    entry = audit.newest(db, 1)[0]
    assert (entry.action, entry.target) == ("device.registered", sim.device_id)
    assert entry.actor.startswith("technician") and "token tests" in entry.actor
    assert audit.verify(db).ok


def test_registering_again_with_the_same_key_is_idempotent(api: TestClient, db: Database) -> None:
    sim, headers = SimDevice(), bearer(db, Role.ADMIN)
    first = api.post("/api/v1/devices", json=_unit(sim), headers=headers)
    again = api.post("/api/v1/devices", json=_unit(sim), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(registry.devices(db)) == 1


def test_another_key_for_a_registered_id_is_refused(api: TestClient, db: Database) -> None:
    sim, other, headers = SimDevice(), SimDevice(12), bearer(db, Role.TECHNICIAN)
    api.post("/api/v1/devices", json=_unit(sim), headers=headers)
    clash = {**_unit(sim), "public_key": other.public_key.hex()}
    answer = api.post("/api/v1/devices", json=clash, headers=headers)
    # An id derives from its key, so another key for it is caught as a mismatch.
    assert answer.status_code == 422
    assert "does not belong to that public key" in answer.json()["detail"]


def test_a_revoked_unit_is_a_conflict_with_the_way_back(api: TestClient, db: Database) -> None:
    sim, headers = SimDevice(), bearer(db, Role.TECHNICIAN)
    api.post("/api/v1/devices", json=_unit(sim), headers=headers)
    registry.revoke(db, sim.device_id, 5)
    answer = api.post("/api/v1/devices", json=_unit(sim), headers=headers)
    assert answer.status_code == 409
    assert "fieldcheck device reinstate" in answer.json()["detail"]


def test_a_bad_key_is_refused_with_what_to_copy(api: TestClient, db: Database) -> None:
    body = {"device_id": "x", "public_key": "not a key", "label": ""}
    answer = api.post("/api/v1/devices", json=body, headers=bearer(db, Role.TECHNICIAN))
    assert answer.status_code == 422
    assert "identity show" in answer.json()["detail"]


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUDITOR])
def test_other_roles_may_not_register(api: TestClient, db: Database, role: Role) -> None:
    answer = api.post("/api/v1/devices", json=_unit(SimDevice()), headers=bearer(db, role))
    assert answer.status_code == 403
    assert registry.devices(db) == []


def test_no_credentials_is_401_and_says_how(api: TestClient, db: Database) -> None:
    make_user(db, Role.ADMIN)
    answer = api.post("/api/v1/devices", json=_unit(SimDevice()))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "/login" in answer.json()["detail"]


def test_a_wrong_or_revoked_token_is_401(api: TestClient, db: Database) -> None:
    headers = bearer(db, Role.TECHNICIAN)
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer fct_nope"}).status_code == 401
    from fieldcheck_server.domain import tokens
    from fieldcheck_server.domain.roles import SYSTEM

    token_id = tokens.listing(db)[-1].id
    tokens.revoke(db, token_id, 1, SYSTEM)
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_before_the_first_admin_operator_routes_say_how_to_make_one(api: TestClient) -> None:
    answer = api.get("/api/v1/me")
    assert answer.status_code == 503
    assert "fieldcheck admin create" in answer.json()["detail"]
    assert api.get("/v1/health").status_code == 200
    assert "fieldcheck admin create" in api.get("/login").text


def test_a_session_registers_with_its_csrf_token_and_not_without(
    api: TestClient, db: Database
) -> None:
    csrf = sign_in(api, db, Role.TECHNICIAN)
    sim = SimDevice()
    refused = api.post("/api/v1/devices", json=_unit(sim))
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = api.post("/api/v1/devices", json=_unit(sim), headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert registry.devices(db) == []
    done = api.post("/api/v1/devices", json=_unit(sim), headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert api.get("/api/v1/me").json()["role"] == "technician"
