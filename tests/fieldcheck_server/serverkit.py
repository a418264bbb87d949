"""Helpers for the ingest server tests: post a batch signed the way a device signs it."""

import os

import cbor2
import httpx
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain.export import rows
from fieldcheck_server.domain.ingest import Limits
from firmware.sync.auth import signed_headers
from tests.firmware.sync.devicesim import SimDevice

LIMITS = Limits(max_records=64, max_bytes=128 * 1024, evidence_bytes=4096)


def auth_headers(sim: SimDevice, body: bytes, clock: ManualClock) -> dict[str, str]:
    """Correctly signed request headers for ``body`` at the clock's time."""
    stamp = int(clock.now().timestamp())
    headers = signed_headers(sim.signer, "POST", "/v1/records", body, stamp, os.urandom)
    headers["Content-Type"] = "application/cbor"
    return headers


def post(
    client: TestClient, sim: SimDevice, items: list[bytes], clock: ManualClock
) -> httpx.Response:
    """POST a batch the way a device does."""
    body = cbor2.dumps(items)
    return client.post("/v1/records", content=body, headers=auth_headers(sim, body, clock))


def stored(db: Database, sim: SimDevice) -> list[bytes]:
    """The device's records the server holds as verified (re-verified, chain checked)."""
    verified = [row for row in rows(db, sim.device_id) if row.status == "verified"]
    assert [row.seq for row in verified] == list(range(len(verified)))
    return [row.cose for row in verified]


def evidence(db: Database, sim: SimDevice) -> list[str]:
    """Reasons of the device's quarantined items, oldest first."""
    return [row.reason.split(":")[0] for row in rows(db, sim.device_id) if row.status != "verified"]
