"""Pi <-> supervisor MCU frames: COBS with a 0x00 delimiter, CRC-16/CCITT-FALSE, typed payloads.

The byte layout is specified in ``hardware/mcu/PROTOCOL.md`` and pinned by the golden vectors in
``hardware/mcu/vectors.json``; the MicroPython codec in ``hardware/mcu/frame.py`` implements the
same format and is tested against the same vectors.
"""

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

PROTOCOL_VERSION = 1
DELIMITER = b"\x00"
HEADER_LEN = 3  # version, type, sequence number
CRC_LEN = 2
MIN_FRAME = HEADER_LEN + CRC_LEN
MAX_FRAME = 64  # decoded bytes; the largest message is far smaller, so longer runs are noise
MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1


class MsgType(IntEnum):
    """Message types of protocol version 1 (see PROTOCOL.md, "Message catalogue")."""

    HEARTBEAT = 0x01
    HEARTBEAT_ACK = 0x02
    TAMPER = 0x10
    BATTERY = 0x11
    BUTTON = 0x12
    POWER = 0x13
    RESET_REASON = 0x14
    SET_CONFIG = 0x20
    SHUTDOWN = 0x21
    ACK = 0x7E
    NACK = 0x7F


class NackReason(IntEnum):
    """Why a receiver refused a frame that it could read the header of."""

    VERSION = 1
    TYPE = 2
    LENGTH = 3
    VALUE = 4


# Payload layout per type: (field name, struct code), packed big-endian in this order.
PAYLOADS: Mapping[MsgType, tuple[tuple[str, str], ...]] = {
    MsgType.HEARTBEAT: (),
    MsgType.HEARTBEAT_ACK: (("uptime_ms", "I"), ("flags", "B")),
    MsgType.TAMPER: (("open", "B"), ("uptime_ms", "I")),
    MsgType.BATTERY: (("millivolts", "H"), ("percent", "B"), ("flags", "B")),
    MsgType.BUTTON: (("press", "B"), ("duration_ms", "H")),
    MsgType.POWER: (("external", "B"),),
    MsgType.RESET_REASON: (("reason", "B"), ("silence_ms", "I"), ("count", "H")),
    MsgType.SET_CONFIG: (("watchdog_s", "H"), ("battery_interval_s", "H"), ("low_percent", "B")),
    MsgType.SHUTDOWN: (("delay_s", "H"), ("wake_after_s", "I")),
    MsgType.ACK: (),
    MsgType.NACK: (("reason", "B"),),
}

# Messages the sender retransmits until acknowledged; the rest are fire-and-forget.
RELIABLE = frozenset(
    {
        MsgType.TAMPER,
        MsgType.BATTERY,
        MsgType.BUTTON,
        MsgType.POWER,
        MsgType.RESET_REASON,
        MsgType.SET_CONFIG,
        MsgType.SHUTDOWN,
    }
)

_ERROR_NACK = {"version": NackReason.VERSION, "type": NackReason.TYPE, "length": NackReason.LENGTH}


class FrameError(ValueError):
    """A frame that must be rejected; ``kind`` names the check that failed.

    Kinds: ``cobs``, ``short``, ``long``, ``crc`` (dropped silently, the sender retransmits) and
    ``version``, ``type``, ``length`` (header readable, so ``seq`` is set and a NACK is due).
    """

    def __init__(self, kind: str, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.seq = seq

    @property
    def nack_reason(self) -> NackReason | None:
        """The NACK reason to answer with, or ``None`` when the frame is dropped silently."""
        return _ERROR_NACK.get(self.kind)


@dataclass(frozen=True)
class Message:
    """One decoded message: its type, sequence number and named payload fields."""

    kind: MsgType
    seq: int
    fields: Mapping[str, int] = field(default_factory=dict)

    @property
    def reliable(self) -> bool:
        """Whether the receiver must acknowledge it."""
        return self.kind in RELIABLE


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result contains no 0x00 byte."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
            continue
        block.append(byte)
        if len(block) == 254:
            out.append(0xFF)
            out += block
            block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Undo :func:`cobs_encode`; raises ``FrameError("cobs")`` on a malformed encoding."""
    if not data:
        raise FrameError("cobs", "empty frame")
    out = bytearray()
    index = 0
    while index < len(data):
        code = data[index]
        end = index + code
        if code == 0 or end > len(data):
            raise FrameError("cobs", f"bad COBS code {code:#04x} at offset {index}")
        chunk = data[index + 1 : end]
        if 0 in chunk:
            raise FrameError("cobs", "zero byte inside an encoded frame")
        out += chunk
        index = end
        if code != 0xFF and index < len(data):
            out.append(0)
    return bytes(out)


def pack_payload(kind: MsgType, fields: Mapping[str, int]) -> bytes:
    """The payload bytes of ``kind`` from its named fields (all required, no extras)."""
    layout = PAYLOADS[kind]
    names = [name for name, _ in layout]
    if sorted(fields) != sorted(names):
        raise ValueError(f"{kind.name} needs fields {names}, got {sorted(fields)}")
    fmt = ">" + "".join(code for _, code in layout)
    try:
        return struct.pack(fmt, *(fields[name] for name in names))
    except struct.error as err:
        raise ValueError(f"{kind.name}: field out of range: {err}") from err


def unpack_payload(kind: MsgType, payload: bytes, seq: int | None = None) -> dict[str, int]:
    """Named fields from the payload bytes of ``kind``; a wrong length is a ``length`` error."""
    layout = PAYLOADS[kind]
    fmt = ">" + "".join(code for _, code in layout)
    if len(payload) != struct.calcsize(fmt):
        raise FrameError(
            "length",
            f"{kind.name} payload is {len(payload)} bytes, expected {struct.calcsize(fmt)}",
            seq,
        )
    values = struct.unpack(fmt, payload)
    return {name: int(value) for (name, _), value in zip(layout, values, strict=True)}


def encode(message: Message) -> bytes:
    """The wire bytes of ``message``: COBS(header + payload + CRC) followed by 0x00."""
    if not 0 <= message.seq <= 0xFF:
        raise ValueError(f"sequence number {message.seq} does not fit in a byte")
    body = bytes((PROTOCOL_VERSION, message.kind, message.seq))
    body += pack_payload(message.kind, message.fields)
    body += crc16(body).to_bytes(2, "big")
    return cobs_encode(body) + DELIMITER


def decode(frame: bytes) -> Message:
    """Decode one frame (COBS bytes, without the 0x00 delimiter) or raise ``FrameError``."""
    if len(frame) > MAX_ENCODED:
        raise FrameError("long", f"frame of {len(frame)} bytes exceeds {MAX_ENCODED}")
    body = cobs_decode(frame)
    if len(body) < MIN_FRAME:
        raise FrameError("short", f"frame of {len(body)} bytes is shorter than {MIN_FRAME}")
    if len(body) > MAX_FRAME:
        raise FrameError("long", f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    if crc16(body[:-CRC_LEN]) != int.from_bytes(body[-CRC_LEN:], "big"):
        raise FrameError("crc", "CRC mismatch")
    version, kind_code, seq = body[0], body[1], body[2]
    if version != PROTOCOL_VERSION:
        raise FrameError("version", f"protocol version {version}, expected 1", seq)
    try:
        kind = MsgType(kind_code)
    except ValueError as err:
        raise FrameError("type", f"unknown message type {kind_code:#04x}", seq) from err
    fields = unpack_payload(kind, body[HEADER_LEN:-CRC_LEN], seq)
    return Message(kind=kind, seq=seq, fields=fields)


class FrameSplitter:
    """Cuts a byte stream at 0x00 delimiters; runs longer than any valid frame are discarded."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._overflow = False
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the complete frames (delimiters removed, empties skipped)."""
        frames: list[bytes] = []
        for byte in data:
            if byte == 0:
                if self._overflow:
                    self.discarded += 1
                elif self._buffer:
                    frames.append(bytes(self._buffer))
                self._buffer.clear()
                self._overflow = False
            elif len(self._buffer) >= MAX_ENCODED:
                # Line noise or a lost delimiter: drop until the next delimiter resynchronises.
                self._overflow = True
                self._buffer.clear()
            elif not self._overflow:
                self._buffer.append(byte)
        return frames
