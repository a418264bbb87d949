"""The MicroPython codec (hardware/mcu/frame.py) against the same golden vectors as the firmware."""

import binascii
import json
from pathlib import Path
from typing import Any

import frame
import pytest

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "hardware" / "mcu" / "vectors.json").read_text()
)
# The vectors name fields; the MCU codec works with tuples in PROTOCOL.md order.
FIELD_ORDER = {
    "HEARTBEAT": (),
    "HEARTBEAT_ACK": ("uptime_ms", "flags"),
    "TAMPER": ("open", "uptime_ms"),
    "BATTERY": ("millivolts", "percent", "flags"),
    "BUTTON": ("press", "duration_ms"),
    "POWER": ("external",),
    "RESET_REASON": ("reason", "silence_ms", "count"),
    "SET_CONFIG": ("watchdog_s", "battery_interval_s", "low_percent"),
    "SHUTDOWN": ("delay_s", "wake_after_s"),
    "ACK": (),
    "NACK": ("reason",),
}


def test_crc_check_value_and_stdlib_agreement() -> None:
    assert frame.crc16(b"123456789") == int(VECTORS["crc"]["check"], 16)
    sample = bytes(range(200))
    assert frame.crc16(sample) == binascii.crc_hqx(sample, 0xFFFF)


@pytest.mark.parametrize("case", VECTORS["cobs"], ids=lambda c: c["raw"])
def test_cobs_vectors(case: dict[str, str]) -> None:
    assert frame.cobs_encode(bytes.fromhex(case["raw"])).hex() == case["encoded"]
    assert frame.cobs_decode(bytes.fromhex(case["encoded"])).hex() == case["raw"]


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["name"])
def test_valid_vectors(case: dict[str, Any]) -> None:
    mtype = getattr(frame, case["type"])
    values = tuple(case["fields"][name] for name in FIELD_ORDER[case["type"]])
    payload = frame.pack(mtype, values)
    assert payload.hex() == case["payload"]
    assert frame.encode(mtype, case["seq"], payload).hex() == case["frame"]
    decoded = frame.decode(bytes.fromhex(case["frame"])[:-1])
    assert decoded == (mtype, case["seq"], payload)
    assert frame.unpack(mtype, decoded[2]) == values


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_vectors(case: dict[str, Any]) -> None:
    with pytest.raises(frame.FrameError) as caught:
        frame.decode(bytes.fromhex(case["frame"])[:-1])
    assert caught.value.kind == case["error"]
    expected_seq = -1 if case["seq"] is None else case["seq"]
    assert caught.value.seq == expected_seq
    assert bool(caught.value.nack_reason()) == (case["seq"] is not None)


def test_splitter_drops_over_long_runs() -> None:
    splitter = frame.Splitter()
    good = bytes.fromhex(VECTORS["valid"][0]["frame"])
    frames = splitter.feed(b"\x01" * 100 + b"\x00" + good + good)
    assert frames == [good[:-1], good[:-1]]
    assert splitter.discarded == 1
