"""Link frames for the supervisor: COBS + 0x00 delimiter, CRC-16/CCITT-FALSE (PROTOCOL.md)."""

import struct

VERSION = 1
HEADER_LEN = 3
CRC_LEN = 2
MIN_FRAME = 5
MAX_FRAME = 64
MAX_ENCODED = 66

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

NACK_VERSION = 1
NACK_TYPE = 2
NACK_LENGTH = 3
NACK_VALUE = 4

# struct layout (big-endian) of each payload; field order as in PROTOCOL.md.
LAYOUT = {
    HEARTBEAT: ">",
    HEARTBEAT_ACK: ">IB",
    TAMPER: ">BI",
    BATTERY: ">HBB",
    BUTTON: ">BH",
    POWER: ">B",
    RESET_REASON: ">BIH",
    SET_CONFIG: ">HHB",
    SHUTDOWN: ">HI",
    ACK: ">",
    NACK: ">B",
}

RELIABLE = (TAMPER, BATTERY, BUTTON, POWER, RESET_REASON, SET_CONFIG, SHUTDOWN)

_NACK_FOR = {"version": NACK_VERSION, "type": NACK_TYPE, "length": NACK_LENGTH}


class FrameError(ValueError):
    """A frame to reject; ``kind`` is cobs/short/long/crc (drop) or version/type/length (NACK)."""

    def __init__(self, kind: str, seq: int = -1) -> None:
        super().__init__(kind)
        self.kind = kind
        self.seq = seq

    def nack_reason(self) -> int:
        """NACK reason code, or 0 when the frame is dropped without an answer."""
        if self.seq < 0:
            return 0
        return _NACK_FOR.get(self.kind, 0)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data``; the result has no zero byte."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out.extend(block)
            block = bytearray()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(0xFF)
                out.extend(block)
                block = bytearray()
    out.append(len(block) + 1)
    out.extend(block)
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Undo COBS; raises FrameError("cobs") on a malformed encoding."""
    if len(data) == 0:
        raise FrameError("cobs")
    out = bytearray()
    index = 0
    while index < len(data):
        code = data[index]
        end = index + code
        if code == 0 or end > len(data):
            raise FrameError("cobs")
        for byte in data[index + 1:end]:
            if byte == 0:
                raise FrameError("cobs")
        out.extend(data[index + 1:end])
        index = end
        if code != 0xFF and index < len(data):
            out.append(0)
    return bytes(out)


def pack(mtype: int, values: tuple[int, ...]) -> bytes:
    """Payload bytes of ``mtype`` from its field values, in PROTOCOL.md order."""
    return struct.pack(LAYOUT[mtype], *values)


def unpack(mtype: int, payload: bytes) -> tuple[int, ...]:
    """Field values of ``mtype`` from its payload bytes."""
    return struct.unpack(LAYOUT[mtype], payload)


def encode(mtype: int, seq: int, payload: bytes) -> bytes:
    """Wire bytes: COBS(version, type, seq, payload, CRC big-endian) + 0x00."""
    body = bytes((VERSION, mtype, seq & 0xFF)) + payload
    crc = crc16(body)
    body = body + bytes((crc >> 8, crc & 0xFF))
    return cobs_encode(body) + b"\x00"


def decode(frame: bytes) -> tuple[int, int, bytes]:
    """(type, seq, payload) of one frame without its delimiter, or raise FrameError."""
    if len(frame) > MAX_ENCODED:
        raise FrameError("long")
    body = cobs_decode(frame)
    if len(body) < MIN_FRAME:
        raise FrameError("short")
    if len(body) > MAX_FRAME:
        raise FrameError("long")
    if crc16(body[:-CRC_LEN]) != (body[-2] << 8) | body[-1]:
        raise FrameError("crc")
    seq = body[2]
    if body[0] != VERSION:
        raise FrameError("version", seq)
    mtype = body[1]
    if mtype not in LAYOUT:
        raise FrameError("type", seq)
    payload = body[HEADER_LEN:-CRC_LEN]
    if len(payload) != struct.calcsize(LAYOUT[mtype]):
        raise FrameError("length", seq)
    return mtype, seq, payload


class Splitter:
    """Cut a byte stream at 0x00; over-long runs are dropped until the next delimiter."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.overflow = False
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return complete frames (without delimiters)."""
        frames = []  # type: list[bytes]
        for byte in data:
            if byte == 0:
                if self.overflow:
                    self.discarded += 1
                elif len(self.buffer) > 0:
                    frames.append(bytes(self.buffer))
                self.buffer = bytearray()
                self.overflow = False
            elif len(self.buffer) >= MAX_ENCODED:
                self.overflow = True
                self.buffer = bytearray()
            elif not self.overflow:
                self.buffer.append(byte)
        return frames
