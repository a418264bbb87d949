"""Callers that never proved a device key cannot fill the database or bury a unit's alerts."""

import os

import cbor2
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import ZERO_HASH
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tables import alerts, quarantine, refusals
from fieldcheck_server.domain.evidence import ALERT_INTERVAL_MS
from fieldcheck_server.domain.export import rows, to_csv_text, to_geojson_text, to_json_text
from firmware.sync.auth import signed_headers
from tests.fieldcheck_server.serverkit import auth_headers, post
from tests.firmware.sync.devicesim import SimDevice

CBOR = {"Content-Type": "application/cbor"}


def _sizes(db: Database) -> tuple[int, int, int]:
    with db.read() as tx:
        connection = tx.connection
        return (
            connection.execute(select(func.count()).select_from(quarantine)).scalar_one(),
            connection.execute(select(func.count()).select_from(alerts)).scalar_one(),
            connection.execute(select(func.count()).select_from(refusals)).scalar_one(),
        )


def test_header_less_requests_store_a_count_not_their_bodies(
    client: TestClient, db: Database, device: SimDevice
) -> None:
    """Issue 8: 400 header-less requests stored 100 MiB and raised 400 alerts."""
    body = os.urandom(64 * 1024)
    for _ in range(40):
        assert client.post("/v1/records", content=body, headers=CBOR).status_code == 401
    assert _sizes(db) == (0, 1, 1)  # no evidence rows, one alert, one counting row
    with db.read() as tx:
        [count] = tx.refusal_counts()
    assert (count.code, count.count, count.bytes) == ("missing_auth", 40, 40 * len(body))


def test_strangers_naming_a_unit_do_not_bury_its_alerts(
    client: TestClient, db: Database, device: SimDevice, clock: ManualClock
) -> None:
    """Issue 8: 300 tiny bodies naming a victim's device buried the real alerts."""
    for index in range(30):
        body = cbor2.dumps([bytes([index])])
        stamp = int(clock.now().timestamp())
        headers = signed_headers(
            SimDevice(seed=77).signer, "POST", "/v1/records", body, stamp, os.urandom
        )
        headers[next(k for k in headers if k.lower() == "x-fieldcheck-device")] = device.device_id
        headers |= CBOR
        assert client.post("/v1/records", content=body, headers=headers).status_code == 401
    with db.read() as tx:
        assert [(a.device_id, a.code) for a in tx.alerts(100)] == [(None, "bad_request_signature")]
        assert tx.quarantined(device.device_id) == []
    # The unit's own refusals still show, under its id.
    chain = device.extend(3)
    post(client, device, [chain[2]], clock)
    with db.read() as tx:
        assert [a.code for a in tx.alerts(100) if a.device_id == device.device_id] == ["gap"]


def test_alerts_of_one_source_are_rate_limited(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    for _ in range(5):
        client.post("/v1/records", content=b"x", headers=CBOR)
    clock.advance(ALERT_INTERVAL_MS / 1000 + 1)
    client.post("/v1/records", content=b"x", headers=CBOR)
    with db.read() as tx:
        messages = [a.message for a in tx.alerts(10)]
    assert len(messages) == 2 and messages[0].startswith("6 refused request(s) from testclient")


def test_records_that_fail_verification_are_never_places(
    client: TestClient, db: Database, device: SimDevice, clock: ManualClock
) -> None:
    """Issue 8: a record naming a unit, signed by any key, showed in its GeoJSON as a point."""
    genuine = device.sign(device.record(0, ZERO_HASH))
    forged = genuine[:-1] + bytes([genuine[-1] ^ 1])  # names the unit, its signature fails
    answer = post(client, device, [forged], clock).json()
    assert [r["code"] for r in answer["rejected"]] == ["bad_signature"]
    items = rows(db, device.device_id)
    assert [(row.status, row.record) for row in items] == [("quarantined", None)]
    assert to_geojson_text(items).count('"Feature"') == 0
    assert "52.52" not in to_csv_text(items) and "52.52" not in to_json_text(items)


def test_a_signed_fork_still_shows_for_review(
    client: TestClient, db: Database, device: SimDevice, clock: ManualClock
) -> None:
    """Evidence whose signature holds (a fork, a gap) is the unit's own: it keeps its place."""
    post(client, device, device.extend(1), clock)
    post(client, device, [device.sign(device.record(0, ZERO_HASH, body={"interval": 9}))], clock)
    items = rows(db, device.device_id)
    assert [row.status for row in items] == ["verified", "quarantined"]
    assert items[1].record is not None and to_geojson_text(items).count('"Feature"') == 2


def test_bytes_stored_per_unauthenticated_request(
    client: TestClient, db: Database, device: SimDevice, clock: ManualClock
) -> None:
    """The figure issue 8 asks for: after the first, an unauthenticated request stores 0 rows."""
    body = cbor2.dumps(device.extend(1))
    headers = auth_headers(device, body, clock) | {"X-Fieldcheck-Signature": "A" * 86}
    before = _sizes(db)
    for _ in range(20):
        client.post("/v1/records", content=body, headers=headers)
    after = _sizes(db)
    assert after[0] == before[0] and after[2] - before[2] == 1 and after[1] - before[1] == 1
