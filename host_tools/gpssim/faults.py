"""Wire faults applied to an epoch's sentences: binary garbage, bad checksums, a baud mismatch."""

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

GARBAGE_PROBABILITY = 0.3  # chance of a garbage burst before each sentence
CHECKSUM_ERROR_PROBABILITY = 0.25  # chance that a sentence is corrupted
CHUNK_BYTES = 64  # garbled streams are written in pieces so baud pacing stays smooth


@dataclass(frozen=True)
class WireSettings:
    """The link: the reader's baud rate and, for a mismatch, the receiver's real one."""

    link_baud: int = 9600
    receiver_baud: int = 115200


def encode(lines: list[str]) -> list[bytes]:
    """Sentences as ASCII bytes, one chunk each."""
    return [line.encode("ascii") for line in lines]


def garbage(lines: list[str], rng: random.Random, wire: WireSettings) -> list[bytes]:
    """Bursts of random bytes or UBX-like binary frames between some sentences (no newline)."""
    out: list[bytes] = []
    for chunk in encode(lines):
        if rng.random() < GARBAGE_PROBABILITY:
            out.append(_ubx_frame(rng) if rng.random() < 0.5 else rng.randbytes(rng.randint(4, 48)))
        out.append(chunk)
    return out


def _ubx_frame(rng: random.Random) -> bytes:
    """A binary frame shaped like u-blox UBX (sync, class, id, length, payload, Fletcher sum)."""
    payload = rng.randbytes(rng.randint(4, 40))
    body = bytes([rng.choice((0x01, 0x0A, 0x02)), rng.randint(0, 0x40)])
    body += struct.pack("<H", len(payload)) + payload
    ck_a = ck_b = 0
    for byte in body:
        ck_a = (ck_a + byte) & 0xFF
        ck_b = (ck_b + ck_a) & 0xFF
    return b"\xb5\x62" + body + bytes([ck_a, ck_b])


def checksum_errors(lines: list[str], rng: random.Random, wire: WireSettings) -> list[bytes]:
    """Some sentences get a wrong checksum: a digit flipped in the body, or a wrong ``*hh``."""
    return [
        corrupt_sentence(line, rng).encode("ascii")
        if rng.random() < CHECKSUM_ERROR_PROBABILITY else line.encode("ascii")
        for line in lines
    ]


def corrupt_sentence(line: str, rng: random.Random) -> str:
    """``line`` with a checksum that no longer matches its body (always wrong, never by chance)."""
    star = line.rfind("*")
    digits = [i for i in range(1, star) if line[i].isdigit()]
    if digits and rng.random() < 0.5:
        # A bit error on the wire: one digit changes, the checksum stays as sent.
        i = rng.choice(digits)
        new = rng.choice([d for d in "0123456789" if d != line[i]])
        return line[:i] + new + line[i + 1 :]
    sent = int(line[star + 1 : star + 3], 16)
    wrong = sent ^ rng.randint(1, 255)
    return f"{line[: star + 1]}{wrong:02X}{line[star + 3 :]}"


def baud_mismatch(lines: list[str], rng: random.Random, wire: WireSettings) -> list[bytes]:
    """The bytes a UART at ``link_baud`` reads from a receiver sending at ``receiver_baud``."""
    data = b"".join(encode(lines))
    garbled = misread(data, wire.receiver_baud, wire.link_baud)
    return [garbled[i : i + CHUNK_BYTES] for i in range(0, len(garbled), CHUNK_BYTES)]


def misread(data: bytes, sent_baud: int, read_baud: int) -> bytes:
    """Bit-level 8N1 UART simulation: ``data`` sent at one baud rate, sampled at another.

    The reader waits for a low line (start bit), samples 8 data bits LSB first in the middle
    of its own bit times, then looks for the next start after the stop bit. Framing errors
    are delivered as the sampled byte, as Linux does with INPCK off (pyserial's setting).
    """
    bits: list[int] = []
    for byte in data:
        bits.append(0)
        bits.extend((byte >> i) & 1 for i in range(8))
        bits.append(1)
    sent_bit, read_bit = 1.0 / sent_baud, 1.0 / read_baud

    def level(t: float) -> int:
        i = int(t / sent_bit)
        return bits[i] if i < len(bits) else 1  # the line idles high

    out = bytearray()
    index, t = 0, 0.0
    while True:
        index = max(index, int(t / sent_bit))
        while index < len(bits) and bits[index] == 1:
            index += 1
        if index >= len(bits):
            return bytes(out)
        start = max(t, index * sent_bit)
        value = 0
        for k in range(8):
            value |= level(start + (k + 1.5) * read_bit) << k
        out.append(value)
        t = start + 9.5 * read_bit


FAULTS: dict[str, Callable[[list[str], random.Random, WireSettings], list[bytes]]] = {
    "garbage": garbage,
    "checksum": checksum_errors,
    "baud": baud_mismatch,
}


def apply(
    fault: str | None, lines: list[str], rng: random.Random, wire: WireSettings
) -> list[bytes]:
    """The bytes of one epoch on the wire, with ``fault`` (a FAULTS name) applied if any."""
    if fault is None:
        return encode(lines)
    return FAULTS[fault](lines, rng, wire)
