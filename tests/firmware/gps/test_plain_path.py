"""The parser's own split of plain sentences (issue 13) agrees with pynmea2's on every line."""

import random
import re

import pytest

from firmware.core.nmea import build_sentence
from firmware.gps import parser
from firmware.gps.parser import SentenceParser
from firmware.tools.gps_bench import synthetic_stream

_ALPHABET = "$*,.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef -"


def _lines() -> list[str]:
    """Valid sentences, and each with one character changed, dropped or doubled (seeded)."""
    valid = synthetic_stream(400).decode().split("\r\n")[:-1]
    valid += [build_sentence(s) for s in (
        "GNGGA,120000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        "PGGGA,120000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        "GPRMC,120000.00,A,4807.038,N,01131.000,E,0.5,84.4,241126,,,A,V",
        "GPGST,120000.00,1.0,2.0,3.0,4.0,5.0,6.0,7.0",
        "PUBX,00,120000.00",
    )]
    rng = random.Random(13)
    mutated = []
    for line in valid:
        for _ in range(4):
            at = rng.randrange(len(line))
            choice = rng.choice(_ALPHABET)
            mutated.append(rng.choice((
                line[:at] + choice + line[at + 1 :], line[:at] + line[at + 1 :],
                line[:at] + line[at] + line[at:], line.lower(),
            )))
    return valid + mutated


def _run(lines: list[str], require_checksum: bool) -> tuple[list[object], SentenceParser]:
    judge = SentenceParser(require_checksum)
    return [judge.parse(line) for line in lines], judge


@pytest.mark.parametrize("require_checksum", [True, False])
def test_plain_path_gives_what_pynmea2_gives(monkeypatch, require_checksum) -> None:
    lines = _lines()
    fast, fast_counts = _run(lines, require_checksum)
    monkeypatch.setattr(parser, "_PLAIN", re.compile(r"(?!)"))  # every line through pynmea2
    slow, slow_counts = _run(lines, require_checksum)
    assert fast == slow
    for counter in ("accepted", "ignored", "rejected", "talkers"):
        assert getattr(fast_counts, counter) == getattr(slow_counts, counter), counter
    assert sum(fast_counts.accepted.values()) > 400 and fast_counts.rejected["checksum_bad"] > 100


def test_xor_checksum_is_the_xor_of_every_byte() -> None:
    rng = random.Random(13)
    for size in [*range(0, 130), 255, 256, 257, 1000]:
        data = bytes(rng.randrange(256) for _ in range(size))
        expected = 0
        for byte in data:
            expected ^= byte
        assert parser.xor_checksum(data) == expected, size
