"""Ingest over HTTP in-process: acknowledgement, idempotency, and every per-record refusal."""

import cbor2
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import ZERO_HASH
from fieldcheck_protocol.signature import record_hash
from fieldcheck_server.db.engine import Database
from tests.fieldcheck_server.serverkit import evidence, post, stored
from tests.firmware.sync.devicesim import SimDevice


def test_batch_is_stored_and_acknowledged(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(5)
    response = post(client, device, chain, clock)
    assert response.status_code == 200
    assert response.json() == {"acked_seq": 4, "accepted": 5, "duplicates": 0, "rejected": [],
                      "commands": []}
    assert stored(db, device) == chain


def test_empty_batch_reports_the_current_acknowledgement(
    client: TestClient, device: SimDevice, clock: ManualClock
) -> None:
    assert post(client, device, [], clock).json()["acked_seq"] is None
    post(client, device, device.extend(3), clock)
    assert post(client, device, [], clock).json()["acked_seq"] == 2


def test_duplicate_is_acknowledged_not_stored_twice(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(4)
    post(client, device, chain[:3], clock)
    answer = post(client, device, chain, clock).json()
    assert answer == {"acked_seq": 3, "accepted": 1, "duplicates": 3, "rejected": [],
                      "commands": []}
    assert stored(db, device) == chain
    assert evidence(db, device) == []


def test_fork_is_refused_and_kept_as_evidence(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(3)
    post(client, device, chain, clock)
    other = device.sign(device.record(2, record_hash(chain[1]), body={"interval": 999}))
    answer = post(client, device, [other], clock).json()
    assert answer["acked_seq"] == 2
    assert [(r["seq"], r["code"]) for r in answer["rejected"]] == [(2, "fork")]
    assert stored(db, device) == chain
    assert evidence(db, device) == ["fork"]
    with db.read() as tx:
        assert [a.code for a in tx.alerts(10)] == ["fork"]


def test_gap_is_kept_pending_and_not_acknowledged_past(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(6)
    answer = post(client, device, chain[:3] + chain[5:], clock).json()
    assert answer["acked_seq"] == 2
    assert [(r["seq"], r["code"]) for r in answer["rejected"]] == [(5, "gap")]
    assert evidence(db, device) == ["gap"]
    # Once the missing records arrive in order, the chain continues and the gap closes.
    assert post(client, device, chain[3:], clock).json()["acked_seq"] == 5
    assert stored(db, device) == chain


def test_a_reordered_batch_is_stored_in_sequence_order(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    """A batch is sorted by seq before it is checked: [h+2, h+1] is no gap (issue 8)."""
    chain = device.extend(3)
    answer = post(client, device, list(reversed(chain)), clock).json()
    assert answer == {"acked_seq": 2, "accepted": 3, "duplicates": 0, "rejected": [],
                      "commands": []}
    assert stored(db, device) == chain
    more = device.extend(2)
    answer = post(client, device, [more[1], more[0]], clock).json()
    assert (answer["acked_seq"], answer["rejected"]) == (4, [])
    assert evidence(db, device) == []
    with db.read() as tx:
        assert tx.alerts(10) == []


def test_unreadable_items_keep_their_place_in_a_sorted_batch(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(2)
    answer = post(client, device, [chain[1], b"junk", chain[0]], clock).json()
    assert answer["acked_seq"] == 1
    assert [(r["seq"], r["code"]) for r in answer["rejected"]] == [(None, "malformed")]


def test_broken_chain_link_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(2)
    post(client, device, chain, clock)
    wrong_link = device.sign(device.record(2, ZERO_HASH))
    answer = post(client, device, [wrong_link], clock).json()
    assert answer["acked_seq"] == 1
    assert [r["code"] for r in answer["rejected"]] == ["chain_mismatch"]
    assert stored(db, device) == chain


def test_bad_signature_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    (cose,) = device.extend(1)
    forged = cose[:-1] + bytes([cose[-1] ^ 1])
    answer = post(client, device, [forged], clock).json()
    assert answer["acked_seq"] is None
    assert [(r["seq"], r["code"]) for r in answer["rejected"]] == [(0, "bad_signature")]
    assert stored(db, device) == []
    assert evidence(db, device) == ["bad_signature"]


def test_record_signed_by_another_key_is_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    intruder = SimDevice(seed=99)
    # Sent in a request the registered device signed, but the record is the intruder's.
    answer = post(client, device, [intruder.sign(intruder.record(0, ZERO_HASH))], clock).json()
    assert [r["code"] for r in answer["rejected"]] == ["wrong_device"]
    assert stored(db, device) == []


def test_truncated_and_garbage_items_are_refused(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    (cose,) = device.extend(1)
    answer = post(client, device, [cose[: len(cose) // 2], b"", cbor2.dumps([1, 2])], clock)
    codes = [r["code"] for r in answer.json()["rejected"]]
    assert codes == ["malformed", "malformed", "not_sign1"]
    assert stored(db, device) == []
    assert sorted(evidence(db, device)) == sorted(codes)


def test_same_evidence_twice_raises_one_alert(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    chain = device.extend(3)
    post(client, device, [chain[2]], clock)
    post(client, device, [chain[2]], clock)
    with db.read() as tx:
        assert [a.code for a in tx.alerts(10)] == ["gap"]


def test_repeats_and_rivals_within_one_batch(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    """Records accepted earlier in the same batch count as stored for the later items."""
    chain = device.extend(2)
    rival = device.sign(device.record(1, record_hash(chain[0]), body={"interval": 7}))
    answer = post(client, device, [chain[0], chain[0], chain[1], rival], clock).json()
    assert (answer["acked_seq"], answer["accepted"], answer["duplicates"]) == (1, 2, 1)
    assert [(r["seq"], r["code"]) for r in answer["rejected"]] == [(1, "fork")]
    assert stored(db, device) == chain
    assert evidence(db, device) == ["fork"]
