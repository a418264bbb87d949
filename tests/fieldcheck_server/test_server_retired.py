"""A unit's signed ``decommissioned`` record retires it: stored and acknowledged, then its key
is refused with ``device_retired``, audited, and it cannot be registered again."""

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import record_hash
from fieldcheck_protocol.wire import HINTS, STATUS, ErrorCode
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import registry
from fieldcheck_server.errors import RegistryError
from tests.fieldcheck_server.serverkit import post, stored
from tests.firmware.sync.devicesim import SimDevice


def final_record(device: SimDevice, event: str = "decommissioned") -> bytes:
    seq = len(device.chain)
    record = device.record(seq, record_hash(device.chain[-1]), kind=Kind.EVENT, fix=None,
                           body={"type": event, "details": {"unsent": 0, "forced": False}})
    cose = device.sign(record)
    device.chain.append(cose)
    return cose


def test_the_decommissioned_record_is_acknowledged_then_the_key_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    batch = [*device.extend(3), final_record(device)]
    answer = post(client, device, batch, clock)
    assert answer.status_code == 200 and answer.json()["acked_seq"] == 3
    assert stored(db, device) == batch
    refused = post(client, device, [], clock)
    assert refused.status_code == STATUS[ErrorCode.DEVICE_RETIRED] == 403
    assert refused.json()["code"] == "device_retired"
    assert "provision it anew" in HINTS[ErrorCode.DEVICE_RETIRED]
    (row,) = registry.devices(db)
    assert row.retired_at is not None and row.revoked_at is None
    trail = registry.events(db, device.device_id)
    assert trail[-1].action == "retired" and trail[-1].reason == "decommissioned record seq 3"
    with pytest.raises(RegistryError, match="retired"):
        registry.register(db, device.device_id, device.public_key.hex(), "again", 0)


def test_other_events_do_not_retire(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    post(client, device, [*device.extend(1), final_record(device, "selftest")], clock)
    assert post(client, device, [], clock).status_code == 200
    assert registry.devices(db)[0].retired_at is None
