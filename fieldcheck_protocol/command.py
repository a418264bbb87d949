"""Signed server commands (schema v1): format, signing, verification, admission and the answer.

A command is a COSE_Sign1 message in the layout of :mod:`fieldcheck_protocol.signature`
(protected ``{1: -8}``, unprotected ``{4: kid}``) signed with the **server's command key**; the
kid is :func:`key_id_for` of that key (``"fck-"`` + base32 of sha256(public key)[:10]). Its payload
is one deterministic CBOR map with the text keys of :data:`COMMAND_KEYS`:

``v`` 1, ``id`` unique text id, ``d`` device id, ``s`` per-device sequence number (>= 1),
``ia`` issued-at and ``ex`` expiry (epoch ms), ``k`` the kind, ``a`` the kind's arguments (a map).

The unit answers every command it is given, done or refused, with a signed ``command`` event whose
details :func:`answer_details` builds and :func:`parse_answer` reads back on the server.
"""

import re
import unicodedata
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.record import RecordError, from_ms, to_ms
from fieldcheck_protocol.signature import device_id_for, open_sign1, public_key_bytes, sign1

COMMAND_SCHEMA = 1
COMMAND_KEYS = ("v", "id", "d", "s", "ia", "ex", "k", "a")
#: Longest message for the wearer, in characters (the screen shows a few short lines).
MAX_MESSAGE_CHARS = 280
#: Most policy keys one ``set_policy`` command may change.
MAX_POLICY_CHANGES = 16
#: Most commands one upload answer carries (oldest first; the rest wait for the next upload).
MAX_COMMANDS_PER_ANSWER = 8
#: Largest command message accepted at all (bytes), checked before any parsing.
MAX_COMMAND_BYTES = 4096
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_POLICY_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CommandKind(StrEnum):
    """What the server asks of the unit."""

    CHECKIN_NOW = "checkin_now"
    MESSAGE = "message"
    SET_POLICY = "set_policy"
    SELFTEST = "selftest"
    OFFER_UPDATE = "offer_update"


class Outcome(StrEnum):
    """How the unit answered a command."""

    DONE = "done"
    REFUSED = "refused"


class Reason(StrEnum):
    """Why a command was refused (or ``ok`` when it was done)."""

    OK = "ok"
    MALFORMED = "malformed"  # not a command in this format
    BAD_SIGNATURE = "bad_signature"  # names the pinned key but its signature does not verify
    WRONG_KEY = "wrong_key"  # signed by some other key than the pinned command key
    OTHER_DEVICE = "other_device"  # addressed to another unit
    EXPIRED = "expired"
    REPLAYED = "replayed"  # its id or its sequence number was seen before
    OUT_OF_ORDER = "out_of_order"  # sequence number lower than the highest executed
    NOT_ALLOWED = "not_allowed"  # e.g. a policy key the config does not let the server change
    INVALID_VALUE = "invalid_value"  # e.g. a policy value the unit's config check refuses
    NOT_SUPPORTED = "not_supported"  # a kind this firmware cannot do yet
    FAILED = "failed"  # accepted, but carrying it out failed


class CommandError(Exception):
    """A command cannot be built, decoded or verified; ``reason`` is a :class:`Reason`."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Command:
    """One command; built values are validated (times to whole ms, arguments per kind)."""

    id: str
    device_id: str
    seq: int
    issued_at: datetime
    expires_at: datetime
    kind: CommandKind
    args: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise CommandError(Reason.MALFORMED, "id must be 1-64 of A-Z a-z 0-9 _ -")
        if not isinstance(self.device_id, str) or not 0 < len(self.device_id) <= 64:
            raise CommandError(Reason.MALFORMED, "device id must be text of 1-64 characters")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or not 0 < self.seq < 2**63:
            raise CommandError(Reason.MALFORMED, "seq must be an integer >= 1")
        try:
            kind = CommandKind(self.kind)
            issued, expires = (from_ms(to_ms(t), n) for t, n in
                               ((self.issued_at, "issued_at"), (self.expires_at, "expires_at")))
        except (ValueError, RecordError, TypeError, AttributeError) as err:
            raise CommandError(Reason.MALFORMED, str(err)) from None
        if expires <= issued:
            raise CommandError(Reason.MALFORMED, "expiry must be after issued-at")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "issued_at", issued)
        object.__setattr__(self, "expires_at", expires)
        object.__setattr__(self, "args", MappingProxyType(check_args(kind, self.args)))


def _plain_text(text: Any) -> str:
    if not isinstance(text, str) or not 0 < len(text) <= MAX_MESSAGE_CHARS:
        raise CommandError(Reason.MALFORMED, f"text must be 1-{MAX_MESSAGE_CHARS} characters")
    for char in text:
        # Control and format characters (incl. bidi overrides) could disguise what is shown.
        if char != "\n" and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise CommandError(Reason.MALFORMED, f"text holds a control character {char!r}")
    return text


def _policy(changes: Any) -> dict[str, str | int | float | bool]:
    if not isinstance(changes, Mapping) or not 0 < len(changes) <= MAX_POLICY_CHANGES:
        raise CommandError(Reason.MALFORMED, f"changes must map 1-{MAX_POLICY_CHANGES} keys")
    out: dict[str, str | int | float | bool] = {}
    for key, value in changes.items():
        if not isinstance(key, str) or not _POLICY_KEY.fullmatch(key):
            raise CommandError(Reason.MALFORMED, f"policy key {key!r} is not section.name")
        if isinstance(value, float) and value != value:
            raise CommandError(Reason.MALFORMED, f"{key} is NaN")
        if isinstance(value, str) and len(value) > 256:
            raise CommandError(Reason.MALFORMED, f"{key} is longer than 256 characters")
        if not isinstance(value, str | int | float | bool):
            raise CommandError(Reason.MALFORMED, f"{key} must be text, number or true/false")
        out[key] = value
    return out


def _update(args: Mapping[str, Any]) -> dict[str, Any]:
    url, digest = args.get("url"), args.get("sha256")
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > 512:
        raise CommandError(Reason.MALFORMED, "url must be an https:// URL of at most 512 bytes")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise CommandError(Reason.MALFORMED, "sha256 must be 64 lower-case hex digits")
    return {"url": url, "sha256": digest}


#: The argument names each kind takes (exactly these).
ARG_NAMES: Mapping[CommandKind, frozenset[str]] = MappingProxyType({
    CommandKind.CHECKIN_NOW: frozenset(),
    CommandKind.SELFTEST: frozenset(),
    CommandKind.MESSAGE: frozenset({"text"}),
    CommandKind.SET_POLICY: frozenset({"changes"}),
    CommandKind.OFFER_UPDATE: frozenset({"url", "sha256"}),
})


def check_args(kind: CommandKind, args: Any) -> dict[str, Any]:
    """Validate a kind's arguments; returns a normalised copy or raises ``malformed``."""
    if not isinstance(args, Mapping) or set(args) != ARG_NAMES[kind]:
        names = sorted(ARG_NAMES[kind])
        raise CommandError(Reason.MALFORMED, f"{kind.value} takes exactly the arguments {names}")
    if kind is CommandKind.MESSAGE:
        return {"text": _plain_text(args["text"])}
    if kind is CommandKind.SET_POLICY:
        return {"changes": _policy(args["changes"])}
    if kind is CommandKind.OFFER_UPDATE:
        return _update(args)
    return {}


def key_id_for(public_key: bytes) -> str:
    """The command key's id, the COSE kid of every command: ``"fck-"`` + 16 base32 chars."""
    return "fck-" + device_id_for(public_key)[3:]


def encode_command(command: Command) -> bytes:
    """The command's deterministic CBOR payload."""
    args = dict(command.args)
    if "changes" in args:
        args["changes"] = dict(args["changes"])
    payload = {
        "v": COMMAND_SCHEMA, "id": command.id, "d": command.device_id, "s": command.seq,
        "ia": to_ms(command.issued_at), "ex": to_ms(command.expires_at),
        "k": command.kind.value, "a": args,
    }
    return cbor2.dumps(payload, canonical=True)


def decode_command(data: bytes) -> Command:
    """Parse a payload strictly (deterministic bytes only); ``malformed`` otherwise."""
    try:
        raw = cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as err:
        raise CommandError(Reason.MALFORMED, f"payload is not valid CBOR: {err}") from None
    if not isinstance(raw, Mapping) or set(raw) != set(COMMAND_KEYS):
        raise CommandError(Reason.MALFORMED, f"payload must be a map of exactly {COMMAND_KEYS}")
    if raw["v"] != COMMAND_SCHEMA or isinstance(raw["v"], bool):
        raise CommandError(Reason.MALFORMED, f"command schema {raw['v']!r} is not 1")
    try:
        issued, expires = from_ms(raw["ia"], "ia"), from_ms(raw["ex"], "ex")
    except RecordError as err:
        raise CommandError(Reason.MALFORMED, err.message) from None
    command = Command(raw["id"], raw["d"], raw["s"], issued, expires, raw["k"], raw["a"])
    if encode_command(command) != data:
        raise CommandError(Reason.MALFORMED, "payload is not in deterministic CBOR encoding")
    return command


def sign_command(command: Command, key: Ed25519PrivateKey) -> bytes:
    """The command as COSE_Sign1 bytes signed with the server's command key (Ed25519)."""
    kid = key_id_for(public_key_bytes(key)).encode("ascii")
    return sign1(encode_command(command), kid, key)


def verify_command(cose: Any, public_key: bytes) -> Command:
    """The command if ``public_key`` (the pinned command key) signed it; else CommandError."""
    if not isinstance(cose, bytes) or len(cose) > MAX_COMMAND_BYTES:
        raise CommandError(Reason.MALFORMED, f"a command is at most {MAX_COMMAND_BYTES} bytes")
    try:
        kid, payload = open_sign1(cose, public_key)
    except RecordError as err:
        if err.code != "bad_signature":
            raise CommandError(Reason.MALFORMED, err.message) from None
        wrong_kid = _kid_of(cose) != key_id_for(public_key).encode("ascii")
        reason = Reason.WRONG_KEY if wrong_kid else Reason.BAD_SIGNATURE
        raise CommandError(reason, "not signed by the pinned command key") from None
    if kid != key_id_for(public_key).encode("ascii"):
        raise CommandError(Reason.WRONG_KEY, "names another key than the pinned command key")
    return decode_command(payload)


def _kid_of(cose: bytes) -> bytes:
    value: Any = cbor2.loads(cose).value
    kid = value[1][4]
    return kid if isinstance(kid, bytes) else b""


def unverified_command(cose: Any) -> Command | None:
    """The command inside a message WITHOUT checking its signature (to name it in a refusal)."""
    if not isinstance(cose, bytes) or len(cose) > MAX_COMMAND_BYTES:
        return None
    try:
        value: Any = cbor2.loads(cose, allow_indefinite=False)
        return decode_command(value.value[2])
    except (CommandError, cbor2.CBORDecodeError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, RecursionError):
        return None


def admission(command: Command, device_id: str, now: datetime, highest_seq: int,
              seen_ids: Set[str], seen_seqs: Set[int]) -> Reason | None:
    """Why a verified command must be refused before it runs, or None to run it.

    ``highest_seq`` is the highest sequence number executed so far (0: none); ``seen_*`` every
    id and sequence number already answered, done or refused.
    """
    if command.device_id != device_id:
        return Reason.OTHER_DEVICE
    if command.id in seen_ids or command.seq in seen_seqs:
        return Reason.REPLAYED
    if command.seq < highest_seq:
        return Reason.OUT_OF_ORDER
    if now >= command.expires_at:
        return Reason.EXPIRED
    return None


@dataclass(frozen=True)
class CommandAnswer:
    """What the unit's ``command`` event says: which command, the outcome and why."""

    id: str
    seq: int
    outcome: Outcome
    reason: Reason


def answer_details(command_id: str, seq: int, outcome: Outcome, reason: Reason,
                   extra: Mapping[str, str | int | float | bool | None] | None = None
                   ) -> dict[str, str | int | float | bool | None]:
    """The details map of the signed ``command`` event (``extra``: results, e.g. the self-test)."""
    details: dict[str, str | int | float | bool | None] = dict(extra or {})
    details.update({"id": command_id, "seq": seq, "outcome": outcome.value,
                    "reason": reason.value})
    return details


def parse_answer(details: Mapping[str, Any]) -> CommandAnswer | None:
    """The answer a ``command`` event carries, or None when its details are not one."""
    try:
        answer = CommandAnswer(str(details["id"]), int(details["seq"]),
                               Outcome(details["outcome"]), Reason(details["reason"]))
    except (KeyError, ValueError, TypeError):
        return None
    return answer if _ID.fullmatch(answer.id) else None
