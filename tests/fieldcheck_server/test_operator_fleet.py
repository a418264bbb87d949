"""The fleet view and its JSON twin: health from the records, filter, search, paging."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_protocol.signature import record_hash
from fieldcheck_server.bench import START
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import fleet, registry
from fieldcheck_server.domain.roles import Role
from tests.fieldcheck_server.operator_client import BASE_URL, bearer, operator_app, sign_in
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice


@pytest.fixture
def web(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        yield client


def _battery_low(sim: SimDevice) -> bytes:
    seq = len(sim.chain)
    record = sim.record(seq, record_hash(sim.chain[-1]), kind=Kind.EVENT, fix=None,
                        gps_time=None, firmware_version="1.4.0", model_version="fn-8",
                        body={"type": "battery", "details": {"level": "low", "percent": 14}})
    cose = sim.sign(record)
    sim.chain.append(cose)
    return cose


@pytest.fixture
def units(web: TestClient, db: Database, clock: ManualClock) -> tuple[SimDevice, SimDevice]:
    """Three units: one reporting (3 fixes, then a low battery), one revoked, one never seen."""
    clock.wall = START + timedelta(minutes=10)
    talking, revoked, silent = SimDevice(21), SimDevice(22), SimDevice(23)
    for sim, label in ((talking, "van 3 kit"), (revoked, "returned"), (silent, "spare")):
        registry.register(db, sim.device_id, sim.public_key.hex(), label, 0)
    chain = talking.extend(3)
    assert post(web, talking, [*chain, _battery_low(talking)], clock).status_code == 200
    registry.revoke(db, revoked.device_id, to_ms(clock.now()))
    return talking, revoked


def test_the_fleet_json_reads_health_out_of_the_records(
    web: TestClient, db: Database, clock: ManualClock, units: tuple[SimDevice, SimDevice]
) -> None:
    talking, revoked = units
    answer = web.get("/api/v1/fleet", headers=bearer(db, Role.TECHNICIAN))
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 3 and body["pages"] == 1
    by_id = {unit["device_id"]: unit for unit in body["units"]}
    unit = by_id[talking.device_id]
    assert unit["health"] == "battery" and unit["battery"] == "low"
    assert unit["battery_percent"] == 14
    assert unit["records"] == 4 and unit["head_seq"] == 3
    assert unit["firmware_version"] == "1.4.0" and unit["model_version"] == "fn-8"
    assert unit["fix_age_s"] == pytest.approx(8 * 60)  # last fix at START+2 min, now START+10
    assert unit["last_seen"] == to_ms(clock.now())
    assert by_id[revoked.device_id]["health"] == "revoked"
    assert {u["health"] for u in body["units"] if u["records"] == 0} == {"revoked", "never_seen"}


def test_filter_and_search(
    web: TestClient, db: Database, units: tuple[SimDevice, SimDevice]
) -> None:
    headers = bearer(db, Role.ADMIN)

    def ids(**params: str) -> set[str]:
        found = web.get("/api/v1/fleet", params=params, headers=headers).json()["units"]
        return {unit["label"] for unit in found}

    assert ids(state="revoked") == {"returned"}
    assert ids(state="active") == {"van 3 kit", "spare"}
    assert ids(state="silent") == {"spare"}
    assert ids(q="VAN") == {"van 3 kit"}
    assert ids(q=units[0].device_id[:10]) == {"van 3 kit"}
    assert web.get("/api/v1/fleet", params={"state": "bogus"}, headers=headers).status_code == 422


def test_a_unit_silent_for_a_day_is_marked(
    web: TestClient, db: Database, clock: ManualClock, units: tuple[SimDevice, SimDevice]
) -> None:
    clock.advance(fleet.SILENT_MS / 1000 + 60)
    found = fleet.query(db, to_ms(clock.now()), search="van")
    assert [unit.health for unit in found.units] == [fleet.Health.SILENT]


def test_paging(db: Database) -> None:
    for seed in range(30, 35):
        sim = SimDevice(seed)
        registry.register(db, sim.device_id, sim.public_key.hex(), f"unit {seed}", 0)
    first = fleet.query(db, 0, page=1, page_size=2)
    last = fleet.query(db, 0, page=9, page_size=2)
    assert (first.total, first.pages, len(first.units)) == (5, 3, 2)
    assert (last.page, len(last.units)) == (3, 1)
    assert first.units[0].device_id < first.units[1].device_id


def test_the_fleet_page_shows_the_same_units(
    web: TestClient, db: Database, units: tuple[SimDevice, SimDevice]
) -> None:
    sign_in(web, db, Role.TECHNICIAN)
    page = web.get("/fleet", params={"q": "van"})
    assert page.status_code == 200
    assert units[0].device_id in page.text and "1.4.0" in page.text and "low (14 %)" in page.text
    assert units[1].device_id not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_labels_are_escaped(web: TestClient, db: Database) -> None:
    sim = SimDevice(40)
    registry.register(db, sim.device_id, sim.public_key.hex(), "<script>alert(1)</script>", 0)
    sign_in(web, db, Role.ADMIN)
    page = web.get("/fleet").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_officers_and_auditors_do_not_see_the_fleet(web: TestClient, db: Database) -> None:
    for role in (Role.OFFICER, Role.AUDITOR):
        assert web.get("/api/v1/fleet", headers=bearer(db, role)).status_code == 403


def test_a_retired_unit_shows_as_retired_and_not_active(db: Database) -> None:
    sim = SimDevice(41)
    registry.register(db, sim.device_id, sim.public_key.hex(), "decommissioned", 0)
    with db.write() as tx:
        assert tx.set_retired(sim.device_id, 5)
    [unit] = fleet.query(db, 10).units
    assert unit.health is fleet.Health.RETIRED and unit.retired_at == 5
    assert fleet.query(db, 10, state=fleet.StateFilter.ACTIVE).total == 0
    assert fleet.query(db, 10, state=fleet.StateFilter.REVOKED).total == 1
