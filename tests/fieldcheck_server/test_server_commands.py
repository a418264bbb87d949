"""The command queue: queued and signed, handed out with upload answers, marked by the answers."""

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.command import (
    MAX_COMMANDS_PER_ANSWER,
    CommandKind,
    Outcome,
    Reason,
    answer_details,
    verify_command,
)
from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_protocol.signature import public_key_bytes, record_hash
from fieldcheck_server import command_key
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import commands, registry
from fieldcheck_server.domain.commands import State
from fieldcheck_server.errors import RegistryError
from host_tools.cli import main
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice

KEY = Ed25519PrivateKey.from_private_bytes(b"\x31" * 32)
PUB = public_key_bytes(KEY)


def _queue(db: Database, sim: SimDevice, clock: ManualClock,
           kind: CommandKind = CommandKind.CHECKIN_NOW, ttl_ms: int = 3_600_000,
           args: dict[str, object] | None = None) -> str:
    row = commands.queue(db, KEY, sim.device_id, kind, args or {}, to_ms(clock.now()), "tester",
                         ttl_ms)
    return row.id


def _answer(sim: SimDevice, command_id: str, seq: int, outcome: Outcome, reason: Reason) -> bytes:
    """The unit's signed ``command`` event, appended to its chain."""
    prev = record_hash(sim.chain[-1]) if sim.chain else bytes(32)
    body = {"type": "command", "details": answer_details(command_id, seq, outcome, reason)}
    cose = sim.sign(sim.record(len(sim.chain), prev, kind=Kind.EVENT, fix=None, body=body))
    sim.chain.append(cose)
    return cose


def _states(db: Database, sim: SimDevice, clock: ManualClock) -> list[tuple[int, State]]:
    return [(v.row.seq, v.state) for v in commands.listing(db, sim.device_id, to_ms(clock.now()))]


def test_pending_commands_ride_on_the_upload_answer_oldest_first(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    first = _queue(db, device, clock)
    second = _queue(db, device, clock, CommandKind.MESSAGE, args={"text": "call your officer"})
    assert _states(db, device, clock) == [(1, State.PENDING), (2, State.PENDING)]
    answer = post(client, device, device.extend(1), clock).json()
    delivered = [verify_command(_b64(c), PUB)
                 for c in answer["commands"]]
    assert [(c.id, c.seq, c.device_id) for c in delivered] == [
        (first, 1, device.device_id), (second, 2, device.device_id)]
    assert delivered[1].args["text"] == "call your officer"
    assert _states(db, device, clock) == [(1, State.DELIVERED), (2, State.DELIVERED)]
    # Not answered yet: the next upload (the unit slept, or lost the answer) carries them again.
    assert len(post(client, device, [], clock).json()["commands"]) == 2


def test_answers_mark_the_commands_and_stop_their_delivery(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    done = _queue(db, device, clock)
    refused = _queue(db, device, clock, CommandKind.OFFER_UPDATE,
                     args={"url": "https://x.example/b", "sha256": "0" * 64})
    post(client, device, device.extend(1), clock)
    batch = [_answer(device, done, 1, Outcome.DONE, Reason.OK),
             _answer(device, refused, 2, Outcome.REFUSED, Reason.NOT_SUPPORTED)]
    answer = post(client, device, batch, clock).json()
    assert answer["commands"] == []
    views = commands.listing(db, device.device_id, to_ms(clock.now()))
    assert [(v.state, v.row.reason, v.row.answer_seq) for v in views] == [
        (State.DONE, "ok", 1), (State.REFUSED, "not_supported", 2)]
    # A later answer (a replayed copy, refused by the unit) never overwrites the first.
    post(client, device, [_answer(device, done, 1, Outcome.REFUSED, Reason.REPLAYED)], clock)
    assert commands.listing(db, device.device_id, to_ms(clock.now()))[0].state is State.DONE


def test_expired_commands_are_not_handed_out(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    _queue(db, device, clock, ttl_ms=60_000)
    clock.advance(61)
    assert post(client, device, device.extend(1), clock).json()["commands"] == []
    assert _states(db, device, clock) == [(1, State.EXPIRED)]


def test_an_answer_bounded_in_commands(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    for _ in range(MAX_COMMANDS_PER_ANSWER + 3):
        _queue(db, device, clock)
    carried = post(client, device, [], clock).json()["commands"]
    assert len(carried) == MAX_COMMANDS_PER_ANSWER
    assert [verify_command(_b64(c), PUB).seq for c in carried] == list(range(1, 9))


def test_answer_from_another_unit_changes_nothing(
    client: TestClient, device: SimDevice, clock: ManualClock, db: Database
) -> None:
    cid = _queue(db, device, clock)
    other = SimDevice(seed=12)
    registry.register(db, other.device_id, other.public_key.hex(), "other", 0)
    post(client, other, [_answer(other, cid, 1, Outcome.DONE, Reason.OK)], clock)
    assert commands.listing(db, device.device_id, 0)[0].state is State.PENDING


def test_queue_refuses_unknown_and_revoked_units(device: SimDevice, clock: ManualClock,
                                                 db: Database) -> None:
    with pytest.raises(RegistryError, match="no unit"):
        commands.queue(db, KEY, "fc-nobody", CommandKind.SELFTEST, {}, 0, "t")
    with pytest.raises(RegistryError, match="280"):
        _queue(db, device, clock, CommandKind.MESSAGE, args={"text": "x" * 400})
    registry.revoke(db, device.device_id, 1, registry.Actor("t", "lost"))
    with pytest.raises(RegistryError, match="revoked"):
        _queue(db, device, clock)


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_cli_queues_lists_and_prints_the_key(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "srv"
    assert main(["server", "init", "--dir", str(directory)]) == 0
    init_out = capsys.readouterr().out
    pem = (directory / command_key.PUBLIC_FILE).read_bytes()
    public = serialization.load_pem_public_key(pem)
    assert isinstance(public, Ed25519PublicKey)
    assert (directory / command_key.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert main(["server", "command-key", "--dir", str(directory)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == public_key_bytes(public).hex() and printed in init_out
    sim = SimDevice()
    assert main(["device", "register", "--dir", str(directory), "--id", sim.device_id,
                 "--public-key", sim.public_key.hex()]) == 0
    base = ["device", "command", "--dir", str(directory), "--id", sim.device_id]
    for verb in (["checkin"], ["message", "hello"], ["selftest"],
                 ["set-policy", "schedule.checkins_per_day=4", "schedule.quiet=true"]):
        assert main(base + verb) == 0
    capsys.readouterr()
    assert main(["device", "commands", "--dir", str(directory), "--id", sim.device_id]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2:4] for line in lines] == [
        ["checkin_now", "pending"], ["message", "pending"], ["selftest", "pending"],
        ["set_policy", "pending"]]
    assert main(base + ["set-policy", "no-equals-sign"]) != 0
    assert "KEY=VALUE" in capsys.readouterr().err
