"""Requests refused as a whole: authentication, replay, size, format; each kept as evidence."""

import asyncio
import logging
import os

import cbor2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import DeviceRow
from fieldcheck_server.domain import registry
from fieldcheck_server.domain.auth import check_device, check_signature, parse_headers
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.errors import Refused
from firmware.sync.auth import signed_headers
from tests.fieldcheck_server.serverkit import LIMITS, auth_headers, evidence, post, stored
from tests.firmware.sync.devicesim import SimDevice


def refused(response: object, status: int, code: str) -> None:
    assert getattr(response, "status_code", None) == status
    assert response.json()["code"] == code  # type: ignore[attr-defined]


def test_device_signed_headers_pass_the_server_checks(device: SimDevice) -> None:
    """The device side and the server side share one protocol module (golden vectors in
    tests/firmware/core/test_request_auth.py); a device-signed request verifies on the server."""
    body = cbor2.dumps([])
    headers = signed_headers(device.signer, "POST", "/v1/records", body, 1795953600, os.urandom)
    request = parse_headers({key.lower(): value for key, value in headers.items()})
    row = DeviceRow(device.device_id, device.public_key, "", 0, None)
    assert check_device(request, row, 1795953600) == row
    assert check_signature(request, row, "POST", "/v1/records", body) == row
    with pytest.raises(Refused, match="does not verify"):
        check_signature(request, row, "POST", "/v1/records", body + b"x")


def test_unknown_device_is_refused_and_kept(
    client: TestClient, clock: ManualClock, db: Database
) -> None:
    stranger = SimDevice(seed=42)
    response = post(client, stranger, stranger.extend(2), clock)
    refused(response, 401, "unknown_device")
    with db.read() as tx:
        # Counted, not kept; the alert names the claim but files it under no device.
        assert [(a.device_id, a.code) for a in tx.alerts(5)] == [(None, "unknown_device")]
        assert stranger.device_id in tx.alerts(5)[0].message
        assert tx.quarantined(stranger.device_id) == []
        [count] = tx.refusal_counts()
        assert (count.code, count.count, count.claimed_device) == (
            "unknown_device",
            1,
            stranger.device_id,
        )


def test_missing_headers(client: TestClient, device: SimDevice) -> None:
    response = client.post(
        "/v1/records", content=cbor2.dumps([]), headers={"Content-Type": "application/cbor"}
    )
    refused(response, 401, "missing_auth")


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_timestamp(
    client: TestClient, device: SimDevice, clock: ManualClock, offset: int
) -> None:
    """The device clock is more than 300 s behind or ahead of the server's."""
    body = cbor2.dumps(device.extend(1))
    stamp = int(clock.now().timestamp()) + offset
    headers = signed_headers(device.signer, "POST", "/v1/records", body, stamp, os.urandom)
    headers["Content-Type"] = "application/cbor"
    refused(client.post("/v1/records", content=body, headers=headers), 401, "stale_timestamp")


def test_timestamp_within_skew_is_accepted(
    client: TestClient, device: SimDevice, clock: ManualClock
) -> None:
    body = cbor2.dumps(device.extend(1))
    stamp = int(clock.now().timestamp()) - 299
    headers = signed_headers(device.signer, "POST", "/v1/records", body, stamp, os.urandom)
    headers["Content-Type"] = "application/cbor"
    assert client.post("/v1/records", content=body, headers=headers).json()["acked_seq"] == 0


def test_replayed_request_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    body = cbor2.dumps(device.extend(2))
    headers = auth_headers(device, body, clock)
    assert client.post("/v1/records", content=body, headers=headers).status_code == 200
    clock.advance(10)
    refused(client.post("/v1/records", content=body, headers=headers), 401, "replayed_nonce")
    # A replay proves nothing about who sent it: counted, not kept under the device.
    assert evidence(db, device) == []
    with db.read() as tx:
        assert [c.code for c in tx.refusal_counts()] == ["replayed_nonce"]


def test_body_swapped_after_signing_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(3)
    headers = auth_headers(device, cbor2.dumps(chain[:1]), clock)
    response = client.post("/v1/records", content=cbor2.dumps(chain), headers=headers)
    refused(response, 401, "bad_request_signature")
    assert stored(db, device) == []


def test_request_signed_by_another_key_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock
) -> None:
    impostor = SimDevice(seed=77)
    impostor.signer.device_id = device.device_id  # claims the registered id
    response = post(client, impostor, [], clock)
    refused(response, 401, "bad_request_signature")


def test_revoked_device_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    registry.revoke(db, device.device_id, 1)
    refused(post(client, device, device.extend(1), clock), 403, "device_revoked")


@pytest.mark.parametrize(
    "body", [b"\xff\x00garbage", cbor2.dumps({"not": "a list"}), cbor2.dumps([1, "x"]), b""]
)
def test_malformed_batch(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database, body: bytes
) -> None:
    response = client.post("/v1/records", content=body, headers=auth_headers(device, body, clock))
    refused(response, 400, "malformed_batch")
    assert evidence(db, device) == ["malformed_batch"]


@pytest.mark.parametrize("trailer", [b"\x00", b"\xf6", cbor2.dumps([b"second array"])])
def test_trailing_bytes_after_the_array_are_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database, trailer: bytes
) -> None:
    """cbor2.loads ignores what follows the first item; the server must not (issue 8)."""
    body = cbor2.dumps(device.extend(1)) + trailer
    response = client.post("/v1/records", content=body, headers=auth_headers(device, body, clock))
    refused(response, 400, "malformed_batch")
    assert "after the CBOR array" in response.json()["message"]
    assert stored(db, device) == []


def test_too_many_records(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    response = post(client, device, [b"x"] * (LIMITS.max_records + 1), clock)
    refused(response, 413, "too_many_records")
    assert stored(db, device) == []


def test_oversized_body_is_refused_and_only_counted(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    """Refused on its declared length, before the body is read or the signature checked."""
    body = cbor2.dumps([bytes(LIMITS.max_bytes)])
    response = client.post("/v1/records", content=body, headers=auth_headers(device, body, clock))
    refused(response, 413, "batch_too_large")
    with db.read() as tx:
        assert tx.quarantined(device.device_id) == []
        [count] = tx.refusal_counts()
    assert (count.code, count.bytes) == ("batch_too_large", len(body))


def test_a_signed_but_malformed_batch_is_kept_as_evidence(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    """The device proved its key: its refused batch is evidence under its id (a prefix)."""
    body = cbor2.dumps(["not bytes"]) + bytes(2 * LIMITS.evidence_bytes)
    response = client.post("/v1/records", content=body, headers=auth_headers(device, body, clock))
    refused(response, 400, "malformed_batch")
    with db.read() as tx:
        (kept,) = tx.quarantined(device.device_id)
        assert tx.refusal_counts() == []
    assert (kept.raw_size, kept.raw) == (len(body), body[: LIMITS.evidence_bytes])


def test_wrong_content_type(client: TestClient, device: SimDevice, clock: ManualClock) -> None:
    body = cbor2.dumps([])
    headers = auth_headers(device, body, clock) | {"Content-Type": "application/json"}
    refused(client.post("/v1/records", content=body, headers=headers), 415, "bad_content_type")


def test_openapi_describes_the_ingest_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/records"]["post"]
    assert "application/cbor" in operation["requestBody"]["content"]
    assert {"200", "400", "401", "403", "413", "415"} <= set(operation["responses"])


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=64) | st.text(max_size=16),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        cbor_values.map(cbor2.dumps),
        st.lists(st.binary(max_size=120), max_size=5).map(cbor2.dumps),
    )
)
def test_fuzzed_bodies_never_store_anything(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database, body: bytes
) -> None:
    response = client.post("/v1/records", content=body, headers=auth_headers(device, body, clock))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["acked_seq"] is None
    assert stored(db, device) == []


def _scope(headers: dict[str, str]) -> dict[str, object]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "https", "path": "/v1/records", "raw_path": b"/v1/records",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8443),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def _call(app: object, scope: dict[str, object], receive: object) -> list[dict[str, object]]:
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    return sent


def test_a_client_that_disconnects_mid_body_gets_a_quiet_answer(
    db: Database, clock: ManualClock, device: SimDevice, caplog: pytest.LogCaptureFixture
) -> None:
    """A unit losing power mid-upload: nothing stored, one info line, no traceback."""
    app = create_app(IngestService(db, clock))
    body = cbor2.dumps(device.extend(1))
    headers = auth_headers(device, body, clock) | {"content-length": str(len(body))}

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    with caplog.at_level(logging.INFO, logger="fieldcheck_server.api.app"):
        sent = _call(app, _scope(headers), receive)
    assert sent[0]["status"] == 400
    assert "disconnected while sending a batch" in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    with db.read() as tx:
        assert tx.alerts(10) == []  # a power cut is not evidence of anything


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/cbor", "content-length": "100"},
        {"content-type": "application/cbor", "content-length": str(LIMITS.max_bytes + 1)},
    ],
    ids=["no-auth", "declared-too-large"],
)
def test_requests_refused_by_their_headers_are_answered_before_the_body_is_read(
    db: Database, clock: ManualClock, device: SimDevice, headers: dict[str, str]
) -> None:
    """Issue 8: the body (up to 4 MiB) was read before authentication."""
    if "x-fieldcheck-device" not in headers and headers["content-length"] != "100":
        headers = auth_headers(device, b"", clock) | headers
    app = create_app(IngestService(db, clock, LIMITS))
    reads: list[int] = []

    async def receive() -> dict[str, object]:
        reads.append(1)
        return {"type": "http.request", "body": b"\0" * 100, "more_body": False}

    sent = _call(app, _scope(headers), receive)
    assert sent[0]["status"] in (401, 413)
    assert reads == []


def test_a_body_that_stalls_is_dropped(db: Database, clock: ManualClock, device: SimDevice) -> None:
    body = cbor2.dumps(device.extend(1))
    headers = auth_headers(device, body, clock) | {"content-length": str(len(body))}
    app = create_app(IngestService(db, clock), body_timeout_s=0.05)

    async def receive() -> dict[str, object]:
        await asyncio.sleep(5)
        return {"type": "http.request", "body": body, "more_body": False}

    sent = _call(app, _scope(headers), receive)
    assert sent[0]["status"] == 400
    assert stored(db, device) == []
