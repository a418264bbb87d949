"""The firmware's MCU link codec against the shared golden vectors and an independent CRC."""

import binascii
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.core.mcu_frame import (
    MAX_ENCODED,
    PAYLOADS,
    FrameError,
    FrameSplitter,
    Message,
    MsgType,
    NackReason,
    cobs_decode,
    cobs_encode,
    crc16,
    decode,
    encode,
    pack_payload,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[3] / "hardware" / "mcu" / "vectors.json").read_text()
)


def test_crc_matches_the_published_check_value() -> None:
    crc = VECTORS["crc"]
    assert crc16(bytes.fromhex(crc["check_input"])) == int(crc["check"], 16) == 0x29B1


@given(st.binary(max_size=80))
@settings(max_examples=60)
def test_crc_agrees_with_the_standard_library(data: bytes) -> None:
    # binascii.crc_hqx is CRC-CCITT with a caller-chosen initial value: 0xFFFF makes it CCITT-FALSE.
    assert crc16(data) == binascii.crc_hqx(data, 0xFFFF)


@pytest.mark.parametrize("case", VECTORS["cobs"], ids=lambda c: c["raw"])
def test_cobs_vectors(case: dict[str, str]) -> None:
    raw, encoded = bytes.fromhex(case["raw"]), bytes.fromhex(case["encoded"])
    assert cobs_encode(raw) == encoded
    assert cobs_decode(encoded) == raw


@given(st.binary(max_size=600))
@settings(max_examples=60)
def test_cobs_round_trips_and_never_emits_zero(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert cobs_decode(encoded) == data


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["name"])
def test_valid_vectors_encode_and_decode(case: dict[str, Any]) -> None:
    kind = MsgType[case["type"]]
    message = Message(kind, case["seq"], case["fields"])
    wire = bytes.fromhex(case["frame"])
    assert pack_payload(kind, case["fields"]).hex() == case["payload"]
    assert encode(message) == wire
    assert decode(wire[:-1]) == message


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_vectors_are_rejected_with_their_reason(case: dict[str, Any]) -> None:
    wire = bytes.fromhex(case["frame"])
    with pytest.raises(FrameError) as caught:
        decode(wire[:-1])
    assert caught.value.kind == case["error"]
    assert caught.value.seq == case["seq"]
    # Only frames whose header could be read are answered with a NACK.
    assert (caught.value.nack_reason is None) == (case["seq"] is None)


def test_one_frame_laid_out_by_hand_from_the_spec() -> None:
    # PROTOCOL.md worked example: TAMPER open, seq 7, uptime 5000 ms.
    body = bytes([0x01, 0x10, 0x07, 0x01, 0x00, 0x00, 0x13, 0x88])
    body += binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")
    # COBS by hand: the two payload zeros split the body into groups of 4, 1 and 5 bytes.
    stuffed = bytes([0x05, *body[0:4], 0x01, 0x05, *body[6:]]) + b"\x00"
    assert encode(Message(MsgType.TAMPER, 7, {"open": 1, "uptime_ms": 5000})) == stuffed


@given(
    kind=st.sampled_from(list(MsgType)),
    seq=st.integers(0, 255),
    data=st.data(),
)
@settings(max_examples=80)
def test_every_message_round_trips(kind: MsgType, seq: int, data: st.DataObject) -> None:
    limits = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF}
    fields = {name: data.draw(st.integers(0, limits[code])) for name, code in PAYLOADS[kind]}
    message = Message(kind, seq, fields)
    wire = encode(message)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert decode(wire[:-1]) == message


def test_wrong_fields_and_out_of_range_values_are_refused_when_sending() -> None:
    with pytest.raises(ValueError, match="needs fields"):
        pack_payload(MsgType.POWER, {"external": 1, "extra": 2})
    with pytest.raises(ValueError, match="out of range"):
        pack_payload(MsgType.POWER, {"external": 256})
    with pytest.raises(ValueError, match="sequence number"):
        encode(Message(MsgType.HEARTBEAT, 256))


def test_splitter_cuts_frames_and_resynchronises_after_noise() -> None:
    first = encode(Message(MsgType.HEARTBEAT, 1))
    second = encode(Message(MsgType.ACK, 9))
    splitter = FrameSplitter()
    noise = b"\x07" * (MAX_ENCODED + 10)
    frames = splitter.feed(b"\x00" + first[:3]) + splitter.feed(
        first[3:] + noise + b"\x00" + second
    )
    assert [decode(f) for f in frames] == [Message(MsgType.HEARTBEAT, 1), Message(MsgType.ACK, 9)]
    assert splitter.discarded == 1


def test_nack_reason_follows_the_error_kind() -> None:
    case = next(c for c in VECTORS["invalid"] if c["error"] == "type")
    with pytest.raises(FrameError) as caught:
        decode(bytes.fromhex(case["frame"])[:-1])
    assert caught.value.nack_reason is NackReason.TYPE
