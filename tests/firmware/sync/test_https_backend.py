"""The HTTPS backend's configuration checks and how it reads the server's answers."""

import datetime
import json
from pathlib import Path

import cbor2
import httpx
import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server import tls
from firmware.errors import ConfigError
from firmware.sync.backends import https
from firmware.sync.base import SyncRefused, SyncUnavailable
from tests.firmware.sync.devicesim import SimDevice


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("srv")
    now = datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC)
    fingerprint = tls.generate(directory, ("127.0.0.1",), now)
    return directory / tls.CERT_FILE, fingerprint


def test_create_pins_the_configured_certificate(cert: tuple[Path, str]) -> None:
    path, fingerprint = cert
    colons = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    config = https.Config(url="https://127.0.0.1:8443", server_cert=path, fingerprint=colons)
    transport = https.create(config, SimDevice().signer, ManualClock())
    assert transport.describe == "https://127.0.0.1:8443"


def test_create_refuses_a_fingerprint_mismatch(cert: tuple[Path, str]) -> None:
    path, fingerprint = cert
    config = https.Config(url="https://h:1", server_cert=path, fingerprint="00" * 32)
    with pytest.raises(ConfigError, match="fingerprint") as err:
        https.create(config, SimDevice().signer, ManualClock())
    assert "server init" in err.value.hint


def test_create_refuses_plain_http_and_missing_certificate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="https://"):
        https.create(https.Config(url="http://h:1"), SimDevice().signer, ManualClock())
    missing = https.Config(url="https://h:1", server_cert=tmp_path / "none.crt")
    with pytest.raises(ConfigError, match="cannot read the pinned"):
        https.create(missing, SimDevice().signer, ManualClock())


def transport_answering(
    status: int, payload: object, seen: list[httpx.Request]
) -> https.HttpsTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=json.dumps(payload).encode())

    sim = SimDevice()
    transport = https.HttpsTransport(
        "http://server",
        sim.signer,
        ManualClock(),
        lambda: httpx.Client(transport=httpx.MockTransport(handler)),
        pin=None,
    )
    transport.start()
    return transport


def test_push_sends_a_signed_cbor_batch_and_reads_the_ack() -> None:
    seen: list[httpx.Request] = []
    answer = {
        "acked_seq": 1,
        "accepted": 2,
        "duplicates": 0,
        "rejected": [{"seq": 3, "code": "gap", "message": "m"}],
    }
    transport = transport_answering(200, answer, seen)
    result = transport.push([b"a", b"b"])
    assert (result.acked_seq, result.accepted, result.rejected[0].code) == (1, 2, "gap")
    (request,) = seen
    assert cbor2.loads(request.content) == [b"a", b"b"]
    assert request.headers["content-type"] == "application/cbor"
    assert request.headers["x-fieldcheck-device"] == SimDevice().device_id
    assert request.url.path == "/v1/records"


def test_client_errors_are_refusals_with_a_hint() -> None:
    transport = transport_answering(401, {"code": "unknown_device", "message": "no"}, [])
    with pytest.raises(SyncRefused) as err:
        transport.push([b"a"])
    assert (err.value.status, err.value.code) == (401, "unknown_device")
    assert "fieldcheck device register" in err.value.hint


@pytest.mark.parametrize("status", [429, 500, 503])
def test_server_errors_and_throttling_are_transient(status: int) -> None:
    transport = transport_answering(status, {"code": "x", "message": "y"}, [])
    with pytest.raises(SyncUnavailable):
        transport.push([b"a"])


@pytest.mark.parametrize("payload", [["not", "a", "map"], {"rejected": [{"seq": 1}]},
                                     {"acked_seq": "many"}])
def test_an_unreadable_200_is_transient_and_acknowledges_nothing(payload: object) -> None:
    transport = transport_answering(200, payload, [])
    with pytest.raises(SyncUnavailable, match="unreadable body"):
        transport.push([b"a"])


def test_unreachable_server_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = https.HttpsTransport(
        "http://server",
        SimDevice().signer,
        ManualClock(),
        lambda: httpx.Client(transport=httpx.MockTransport(refuse)),
        pin=None,
    )
    transport.start()
    with pytest.raises(SyncUnavailable, match="cannot connect"):
        transport.push([b"a"])
