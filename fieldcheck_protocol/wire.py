"""The HTTP wire contract between unit and server: paths, content types, answers, codes and hints.

Both ends import this one copy: the server builds its routes, answers and refusals from it, the
unit's sync backend its URL, answer parsing and the hint a technician reads on the unit.
Pure: plain dataclasses and JSON-shaped dicts, no HTTP library.

``POST /v1/records`` takes a CBOR array of COSE_Sign1 byte strings (oldest first) and answers
200 with an :class:`IngestAnswer`, or refuses the request as a whole with a :class:`RefusalAnswer`
and the HTTP status :data:`STATUS` gives its code.
"""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fieldcheck_protocol.record import Code as RecordCode

RECORDS_PATH = "/v1/records"
HEALTH_PATH = "/v1/health"
CBOR = "application/cbor"
JSON = "application/json"


class ErrorCode(StrEnum):
    """Every code the server sends, for a whole request or for one record of a batch."""

    # The request as a whole.
    MALFORMED_BATCH = "malformed_batch"
    MISSING_AUTH = "missing_auth"
    BAD_AUTH_HEADER = "bad_auth_header"
    UNKNOWN_DEVICE = "unknown_device"
    STALE_TIMESTAMP = "stale_timestamp"
    BAD_REQUEST_SIGNATURE = "bad_request_signature"
    REPLAYED_NONCE = "replayed_nonce"
    DEVICE_REVOKED = "device_revoked"
    DEVICE_RETIRED = "device_retired"
    BATCH_TOO_LARGE = "batch_too_large"
    TOO_MANY_RECORDS = "too_many_records"
    BAD_CONTENT_TYPE = "bad_content_type"
    CLIENT_DISCONNECTED = "client_disconnected"
    # One record of a batch: its place in the chain.
    FORK = "fork"
    GAP = "gap"
    CHAIN_MISMATCH = "chain_mismatch"
    # One record of a batch: its own bytes (the record verifier's codes, reported unchanged).
    MALFORMED = RecordCode.MALFORMED.value
    NON_CANONICAL = RecordCode.NON_CANONICAL.value
    UNKNOWN_SCHEMA = RecordCode.UNKNOWN_SCHEMA.value
    MISSING_FIELD = RecordCode.MISSING_FIELD.value
    UNKNOWN_FIELD = RecordCode.UNKNOWN_FIELD.value
    INVALID_FIELD = RecordCode.INVALID_FIELD.value
    NOT_SIGN1 = RecordCode.NOT_SIGN1.value
    BAD_HEADER = RecordCode.BAD_HEADER.value
    BAD_SIGNATURE = RecordCode.BAD_SIGNATURE.value
    WRONG_DEVICE = RecordCode.WRONG_DEVICE.value


#: The HTTP status of each request-level refusal (record-level codes travel inside a 200 answer).
STATUS: Mapping[ErrorCode, int] = {
    ErrorCode.MALFORMED_BATCH: 400,
    ErrorCode.CLIENT_DISCONNECTED: 400,
    ErrorCode.MISSING_AUTH: 401,
    ErrorCode.BAD_AUTH_HEADER: 401,
    ErrorCode.UNKNOWN_DEVICE: 401,
    ErrorCode.STALE_TIMESTAMP: 401,
    ErrorCode.BAD_REQUEST_SIGNATURE: 401,
    ErrorCode.REPLAYED_NONCE: 401,
    ErrorCode.DEVICE_REVOKED: 403,
    ErrorCode.DEVICE_RETIRED: 403,
    ErrorCode.BATCH_TOO_LARGE: 413,
    ErrorCode.TOO_MANY_RECORDS: 413,
    ErrorCode.BAD_CONTENT_TYPE: 415,
}

_ALERTS = "a technician must check the server's alerts (`fieldcheck alerts list`)"

#: What a technician reads on the unit when the server answers a code.
HINTS: Mapping[ErrorCode, str] = {
    ErrorCode.UNKNOWN_DEVICE: "register this unit: `fieldcheck device register` with the id and "
    "public key shown by `fieldcheck-device identity show`",
    ErrorCode.DEVICE_REVOKED: "this unit was revoked on the server; if that was a mistake a "
    "technician runs `fieldcheck device reinstate --id DEVICE_ID --reason TEXT` there",
    ErrorCode.DEVICE_RETIRED: "this unit was decommissioned: the server never accepts its key "
    "again; to use the hardware again provision it anew (`fieldcheck provision`), which makes a "
    "new key and device id",
    ErrorCode.STALE_TIMESTAMP: "the unit's clock is off by more than 5 minutes: check GPS time/NTP",
    ErrorCode.BAD_REQUEST_SIGNATURE: "the unit's key does not match the key registered on the "
    "server: compare `fieldcheck-device identity show` with `fieldcheck device list`",
    ErrorCode.REPLAYED_NONCE: "the server saw this request before; it is sent again with a new "
    "nonce, and if this repeats " + _ALERTS,
    ErrorCode.BATCH_TOO_LARGE: "lower [sync] batch size on the unit or raise the server's limit",
    ErrorCode.TOO_MANY_RECORDS: "lower [sync] batch size on the unit or raise the server's limit",
    ErrorCode.BAD_CONTENT_TYPE: "the URL in [sync] may point at a proxy or another service, not "
    "a fieldcheck server",
}


def hint_for(code: str) -> str:
    """The technician's hint for a code (a generic one for codes without their own)."""
    try:
        return HINTS.get(ErrorCode(code), _ALERTS)
    except ValueError:
        return _ALERTS


@dataclass(frozen=True)
class RejectedItem:
    """A record of a batch the server refused; ``code`` is an :class:`ErrorCode` value."""

    seq: int | None
    code: str
    message: str


@dataclass(frozen=True)
class IngestAnswer:
    """The acknowledgement: everything up to ``acked_seq`` is committed and chain-verified."""

    acked_seq: int | None
    accepted: int
    duplicates: int
    rejected: tuple[RejectedItem, ...] = field(default=())
    #: Signed commands waiting for this unit (COSE_Sign1 bytes, oldest first; base64 in JSON).
    commands: tuple[bytes, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The answer as the JSON object the server sends."""
        return {
            "commands": [base64.b64encode(c).decode("ascii") for c in self.commands],
            "acked_seq": self.acked_seq,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [
                {"seq": item.seq, "code": item.code, "message": item.message}
                for item in self.rejected
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> "IngestAnswer":
        """Read a 200 answer; ``ValueError`` when it is not one (then nothing is acknowledged)."""
        if not isinstance(data, dict):
            raise ValueError("answer is not a JSON object")
        try:
            rejected = tuple(
                RejectedItem(_opt_int(item.get("seq")), str(item["code"]), str(item["message"]))
                for item in data.get("rejected", ())
            )
            return cls(
                acked_seq=_opt_int(data.get("acked_seq")),
                accepted=int(data.get("accepted", 0)),
                duplicates=int(data.get("duplicates", 0)),
                rejected=rejected,
                commands=_commands(data.get("commands", ())),
            )
        except (KeyError, TypeError, AttributeError, binascii.Error) as err:
            raise ValueError(f"unreadable answer: {err!r}") from err


@dataclass(frozen=True)
class RefusalAnswer:
    """A request refused as a whole: the code and a message for the log."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The refusal as the JSON object the server sends."""
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_json(cls, data: Any, status: int) -> "RefusalAnswer":
        """Read a refusal body; anything else becomes ``http_STATUS`` with what it said."""
        if not isinstance(data, dict):
            return cls(f"http_{status}", str(data)[:200])
        detail = data.get("detail", data)
        if not isinstance(detail, dict):
            return cls(f"http_{status}", str(detail)[:200])
        return cls(str(detail.get("code", "unknown")), str(detail.get("message", "")))


def _commands(items: Any) -> tuple[bytes, ...]:
    if not isinstance(items, list | tuple):
        raise TypeError("commands must be a list")
    return tuple(base64.b64decode(str(item), validate=True) for item in items)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
