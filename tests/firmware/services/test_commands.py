"""The unit's command service on a real store and ledger: every refusal, execution, restarts."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.command import (
    Command,
    CommandKind,
    Outcome,
    Reason,
    sign_command,
)
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import public_key_bytes, unverified_record
from firmware.config import validate
from firmware.errors import ConfigError, StoreError
from firmware.services import remote_policy
from firmware.services.command_state import STATE_FILE, CommandState
from firmware.services.commands import (
    Answered,
    CommandService,
    checkin_action,
    message_action,
    offer_update_action,
    read_command_key,
    selftest_action,
    set_policy_action,
)
from firmware.services.ledger import Ledger
from firmware.services.selftest import gps_probe, model_probe, store_probe
from firmware.store.backends.sqlite import SqliteRecordStore
from tests.firmware.services.checkin_fakes import ledger_for

SERVER = Ed25519PrivateKey.from_private_bytes(b"\x41" * 32)
PUB = public_key_bytes(SERVER)


class Unit:
    """A command service over a real store, with recorded side effects."""

    def __init__(self, store: SqliteRecordStore, clock: ManualClock,
                 key: bytes | None = PUB, policy_check: Any = None) -> None:
        self.store = store
        self.clock = clock
        self.ledger: Ledger = ledger_for(store, clock)
        self.messages: list[tuple[str, str]] = []
        self.checkins: list[str] = []
        self.data_dir = store.path.parent
        actions = {
            CommandKind.MESSAGE: message_action(
                lambda cid, text: self.messages.append((cid, text))),
            CommandKind.CHECKIN_NOW: checkin_action(lambda: self.checkins.append("remote") is None),
            CommandKind.SELFTEST: selftest_action({
                "store": store_probe(store), "gps": gps_probe(None, clock),
                "model": model_probe(lambda: self.ledger.model_version)}),
            CommandKind.OFFER_UPDATE: offer_update_action(),
            CommandKind.SET_POLICY: set_policy_action(
                self.data_dir, ("checkin.per_day", "policy.location_interval_s"),
                policy_check or (lambda changes: []), self.ledger),
        }
        self.service = CommandService(key, self.ledger.device_id, CommandState(self.data_dir),
                                      self.ledger, clock, actions)

    def command(self, seq: int, kind: CommandKind = CommandKind.CHECKIN_NOW,
                args: dict[str, Any] | None = None, device: str | None = None,
                ttl: timedelta = timedelta(hours=1), cid: str | None = None) -> Command:
        now = self.clock.now()
        return Command(cid or f"c{seq}", device or self.ledger.device_id, seq, now, now + ttl,
                       kind, args or {})

    def answers(self) -> list[dict[str, Any]]:
        """The details of every signed command event in the store, oldest first."""
        found = []
        for row in self.store.records():
            record = unverified_record(row.cose)
            if record.kind is Kind.EVENT and record.body["type"] == "command":
                found.append(dict(record.body["details"]))
        return found


@pytest.fixture()
def unit(store: SqliteRecordStore, clock: ManualClock) -> Unit:
    return Unit(store, clock)


def _one(unit: Unit, cose: bytes) -> Answered:
    (answered,) = unit.service.handle([cose])
    return answered


def test_checkin_and_message_run_and_are_answered_done(unit: Unit) -> None:
    first = _one(unit, sign_command(unit.command(1), SERVER))
    second = _one(unit, sign_command(
        unit.command(2, CommandKind.MESSAGE, {"text": "Call your officer"}), SERVER))
    assert (first.outcome, second.outcome) == (Outcome.DONE, Outcome.DONE)
    assert unit.checkins == ["remote"]
    assert unit.messages == [("c2", "Call your officer")]
    assert [(a["id"], a["seq"], a["outcome"], a["reason"], a["kind"]) for a in unit.answers()] == [
        ("c1", 1, "done", "ok", "checkin_now"), ("c2", 2, "done", "ok", "message")]


def test_selftest_reports_store_gps_and_model(unit: Unit) -> None:
    answered = _one(unit, sign_command(unit.command(1, CommandKind.SELFTEST), SERVER))
    assert answered.outcome is Outcome.DONE
    details = unit.answers()[0]
    assert details["store_ok"] is True and details["store_problems"] == 0
    assert details["gps_state"] == "off" and details["gps_ok"] is False
    assert details["model_sha256"] == "none" and details["passed"] is False


def test_offer_update_is_refused_not_supported(unit: Unit) -> None:
    cose = sign_command(unit.command(1, CommandKind.OFFER_UPDATE,
                                     {"url": "https://u.example/b", "sha256": "1" * 64}), SERVER)
    assert _one(unit, cose).reason is Reason.NOT_SUPPORTED
    assert unit.answers()[0]["outcome"] == "refused"


@pytest.mark.parametrize(("make", "reason"), [
    (lambda u: sign_command(u.command(1), Ed25519PrivateKey.from_private_bytes(b"\x42" * 32)),
     Reason.WRONG_KEY),
    (lambda u: sign_command(u.command(1, device="fc-someoneelse0000"), SERVER),
     Reason.OTHER_DEVICE),
    (lambda u: sign_command(u.command(1, ttl=timedelta(seconds=1)), SERVER), Reason.EXPIRED),
    (lambda u: b"\x00garbage", Reason.MALFORMED),
])
def test_refusals_run_nothing_and_are_answered(unit: Unit, make: Any, reason: Reason) -> None:
    cose = make(unit)
    unit.clock.advance(2)
    assert _one(unit, cose).reason is reason
    assert unit.checkins == []
    assert unit.answers()[-1]["reason"] == reason.value


def test_forged_signature_under_the_pinned_key_id(unit: Unit) -> None:
    genuine = list(cbor2.loads(sign_command(unit.command(1), SERVER)).value)
    other = sign_command(unit.command(1, CommandKind.MESSAGE, {"text": "obey"}), SERVER)
    genuine[2] = cbor2.loads(other).value[2]  # payload swapped, signature kept
    forged = cbor2.dumps(cbor2.CBORTag(18, genuine), canonical=True)
    assert _one(unit, forged).reason is Reason.BAD_SIGNATURE
    assert unit.messages == []


def test_replay_and_out_of_order(unit: Unit) -> None:
    cose = sign_command(unit.command(5), SERVER)
    assert _one(unit, cose).outcome is Outcome.DONE
    assert _one(unit, cose).reason is Reason.REPLAYED
    assert _one(unit, sign_command(unit.command(5, cid="other"), SERVER)).reason is Reason.REPLAYED
    assert _one(unit, sign_command(unit.command(3), SERVER)).reason is Reason.OUT_OF_ORDER
    assert _one(unit, sign_command(unit.command(6), SERVER)).outcome is Outcome.DONE
    assert unit.checkins == ["remote", "remote"]
    # A re-delivery already answered ``replayed`` is not answered again (no loop of records).
    before = len(unit.answers())
    unit.service.handle([cose, cose])
    assert len(unit.answers()) == before


def test_replay_is_refused_after_a_restart(store: SqliteRecordStore, clock: ManualClock) -> None:
    first = Unit(store, clock)
    cose = sign_command(first.command(1), SERVER)
    assert _one(first, cose).outcome is Outcome.DONE
    again = Unit(store, clock)  # a new process: state read back from the data directory
    assert _one(again, cose).reason is Reason.REPLAYED
    assert again.checkins == []
    assert (store.path.parent / STATE_FILE).stat().st_mode & 0o777 == 0o600


def test_no_pinned_key_refuses_everything(store: SqliteRecordStore, clock: ManualClock) -> None:
    unit = Unit(store, clock, key=None)
    assert _one(unit, sign_command(unit.command(1), SERVER)).reason is Reason.WRONG_KEY
    assert unit.checkins == []


def test_corrupt_state_is_an_error_not_a_reset(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(StoreError, match="corrupt"):
        CommandState(tmp_path)


def test_read_command_key_pem_hex_and_errors(tmp_path: Path) -> None:
    pem = SERVER.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "command.pub").write_bytes(pem)
    (tmp_path / "hex.pub").write_text(PUB.hex() + "\n")
    (tmp_path / "bad.pub").write_text("hello")
    assert read_command_key(tmp_path / "command.pub") == PUB
    assert read_command_key(tmp_path / "hex.pub") == PUB
    with pytest.raises(ConfigError, match="not a PEM"):
        read_command_key(tmp_path / "bad.pub")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_command_key(tmp_path / "missing.pub")


def test_set_policy_keeps_allowed_valid_changes_and_records_them(
        store: SqliteRecordStore, clock: ManualClock) -> None:
    def check(changes: Any) -> list[str]:
        return ["checkin.per_day: must be >= 1"] if changes.get("checkin.per_day") == 0 else []

    unit = Unit(store, clock, policy_check=check)
    ok = unit.command(1, CommandKind.SET_POLICY, {"changes": {"checkin.per_day": 4}})
    bad_key = unit.command(2, CommandKind.SET_POLICY, {"changes": {"sync.url": "https://evil"}})
    bad_value = unit.command(3, CommandKind.SET_POLICY, {"changes": {"checkin.per_day": 0}})
    results = unit.service.handle([sign_command(c, SERVER) for c in (ok, bad_key, bad_value)])
    assert [r.reason for r in results] == [Reason.OK, Reason.NOT_ALLOWED, Reason.INVALID_VALUE]
    assert remote_policy.load(unit.data_dir) == {"checkin.per_day": 4}
    changes = [r for r in (unverified_record(row.cose) for row in unit.store.records())
               if r.kind is Kind.EVENT and r.body["type"] == "config_change"]
    assert len(changes) == 1 and changes[0].body["details"]["command"] == "c1"
    assert changes[0].body["details"]["applies"] == "next_start"


def test_the_config_reads_allowed_server_changes_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = tmp_path / "device.toml"
    path.write_text(f'[device]\ndata_dir = "{data_dir}"\n[policy]\nlocation_interval_s = 60.0\n'
                    '[gps]\ntype = "replay"\npath = "x.nmea"\n')
    remote_policy.save(data_dir, {"policy.location_interval_s": 120.0, "device.data_dir": "/"})
    config = validate(path).built
    assert config["policy"].location_interval_s == 120.0  # in the default remote_keys
    assert config["device"].data_dir == data_dir  # never remotely changeable
