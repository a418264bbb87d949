"""Signed server commands: round trip, every refusal by reason, admission rules, the answer."""

from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest

from fieldcheck_protocol.command import (
    Command,
    CommandError,
    CommandKind,
    Outcome,
    Reason,
    admission,
    answer_details,
    decode_command,
    encode_command,
    key_id_for,
    parse_answer,
    sign_command,
    unverified_command,
    verify_command,
)
from fieldcheck_protocol.signature import PROTECTED, public_key_bytes
from fieldcheck_protocol.wire import IngestAnswer
from tests.fieldcheck_protocol.records_factory import fixed_key

SERVER = fixed_key(21)
SERVER_PUB = public_key_bytes(SERVER)
OTHER = fixed_key(22)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEVICE = "fc-aaaaaaaaaaaaaaaa"


def make(kind: CommandKind = CommandKind.CHECKIN_NOW, args: Any = None, seq: int = 1,
         device: str = DEVICE, cid: str = "c1", ttl: timedelta = timedelta(hours=1)) -> Command:
    return Command(cid, device, seq, NOW, NOW + ttl, kind, {} if args is None else args)


def _reason(cose: Any, pub: bytes = SERVER_PUB) -> Reason:
    with pytest.raises(CommandError) as caught:
        verify_command(cose, pub)
    return caught.value.reason


@pytest.mark.parametrize("command", [
    make(),
    make(CommandKind.SELFTEST),
    make(CommandKind.MESSAGE, {"text": "Bitte melden Sie sich\nheute bis 18 Uhr."}),
    make(CommandKind.SET_POLICY, {"changes": {"schedule.checkins_per_day": 4,
                                              "schedule.quiet": "22:00-07:00"}}),
    make(CommandKind.OFFER_UPDATE, {"url": "https://updates.example/b.fcb", "sha256": "ab" * 32}),
])
def test_sign_verify_round_trip(command: Command) -> None:
    cose = sign_command(command, SERVER)
    assert verify_command(cose, SERVER_PUB) == command
    assert unverified_command(cose) == command
    assert decode_command(encode_command(command)) == command


def test_kid_names_the_command_key() -> None:
    kid = cbor2.loads(sign_command(make(), SERVER)).value[1][4]
    assert kid == key_id_for(SERVER_PUB).encode("ascii")
    assert key_id_for(SERVER_PUB).startswith("fck-") and len(key_id_for(SERVER_PUB)) == 20


def test_signed_by_another_key_is_wrong_key() -> None:
    assert _reason(sign_command(make(), OTHER)) is Reason.WRONG_KEY


def test_forged_signature_under_the_pinned_kid_is_bad_signature() -> None:
    parts = list(cbor2.loads(sign_command(make(), SERVER)).value)
    forged_payload = encode_command(make(CommandKind.MESSAGE, {"text": "forged"}))
    parts[2] = forged_payload
    forged = cbor2.dumps(cbor2.CBORTag(18, parts), canonical=True)
    assert _reason(forged) is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("cose", [b"", b"\xff", cbor2.dumps([1, 2]), b"x" * 5000, "text", None])
def test_garbage_is_malformed(cose: Any) -> None:
    assert _reason(cose) is Reason.MALFORMED
    assert unverified_command(cose) is None


def test_non_deterministic_payload_is_malformed() -> None:
    payload = encode_command(make())
    assert payload.count(b"\x61\x73\x01") == 1  # "s": 1
    long_int = payload.replace(b"\x61\x73\x01", b"\x61\x73\x18\x01")  # same map, 2-byte int
    assert cbor2.loads(long_int) == cbor2.loads(payload)
    with pytest.raises(CommandError) as caught:
        decode_command(long_int)
    assert caught.value.reason is Reason.MALFORMED


@pytest.mark.parametrize(("kind", "args"), [
    (CommandKind.CHECKIN_NOW, {"x": 1}),
    (CommandKind.MESSAGE, {}),
    (CommandKind.MESSAGE, {"text": ""}),
    (CommandKind.MESSAGE, {"text": "x" * 281}),
    (CommandKind.MESSAGE, {"text": "bell\x07"}),
    (CommandKind.MESSAGE, {"text": "evil\u202eright-to-left"}),
    (CommandKind.SET_POLICY, {"changes": {}}),
    (CommandKind.SET_POLICY, {"changes": {"Bad Key": 1}}),
    (CommandKind.SET_POLICY, {"changes": {"a.b": [1]}}),
    (CommandKind.SET_POLICY, {"changes": {"a.b": float("nan")}}),
    (CommandKind.OFFER_UPDATE, {"url": "http://plain", "sha256": "ab" * 32}),
    (CommandKind.OFFER_UPDATE, {"url": "https://x", "sha256": "AB" * 32}),
])
def test_bad_arguments_are_refused_when_built(kind: CommandKind, args: Any) -> None:
    with pytest.raises(CommandError) as caught:
        make(kind, args)
    assert caught.value.reason is Reason.MALFORMED


@pytest.mark.parametrize("fields", [
    {"cid": "has space"}, {"cid": ""}, {"seq": 0}, {"seq": True}, {"device": ""},
    {"ttl": timedelta(0)},
])
def test_bad_fields_are_refused_when_built(fields: dict[str, Any]) -> None:
    with pytest.raises(CommandError):
        make(**fields)


def test_unknown_kind_is_malformed() -> None:
    with pytest.raises(CommandError):
        Command("c1", DEVICE, 1, NOW, NOW + timedelta(hours=1), "reboot", {})  # type: ignore[arg-type]


def test_admission_rules() -> None:
    cmd = make(seq=5, cid="c5")
    assert admission(cmd, DEVICE, NOW, 4, set(), set()) is None
    assert admission(cmd, "fc-other", NOW, 4, set(), set()) is Reason.OTHER_DEVICE
    assert admission(cmd, DEVICE, NOW, 4, {"c5"}, set()) is Reason.REPLAYED
    assert admission(cmd, DEVICE, NOW, 5, set(), {5}) is Reason.REPLAYED
    assert admission(cmd, DEVICE, NOW, 6, set(), set()) is Reason.OUT_OF_ORDER
    assert admission(cmd, DEVICE, NOW + timedelta(hours=1), 4, set(), set()) is Reason.EXPIRED


def test_answer_round_trip_and_junk() -> None:
    details = answer_details("c1", 3, Outcome.REFUSED, Reason.EXPIRED, {"gps": "fix"})
    assert details["gps"] == "fix"
    answer = parse_answer(details)
    assert answer is not None and answer.outcome is Outcome.REFUSED and answer.seq == 3
    assert parse_answer({"id": "c1"}) is None
    assert parse_answer({**details, "outcome": "maybe"}) is None


def test_ingest_answer_carries_commands() -> None:
    cose = sign_command(make(), SERVER)
    answer = IngestAnswer(acked_seq=3, accepted=1, duplicates=0, commands=(cose,))
    assert IngestAnswer.from_json(answer.to_json()) == answer
    assert IngestAnswer.from_json({"acked_seq": 1}).commands == ()
    with pytest.raises(ValueError):
        IngestAnswer.from_json({"acked_seq": 1, "commands": ["not base64!"]})
    assert PROTECTED == cbor2.loads(cose).value[0]
