"""Wire faults do what they say: garbage around intact sentences, bad checksums, baud garbling."""

import random
import re

import pynmea2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_tools.gpssim import faults
from host_tools.gpssim.faults import WireSettings, corrupt_sentence, misread
from tests.host_tools.gpssim.gpssimkit import simulate

WIRE = WireSettings(link_baud=115200, receiver_baud=9600)
SENTENCE = re.compile(rb"\$[A-Z]{5},[ -~]*\*[0-9A-F]{2}\r\n")


def _lines() -> list[str]:
    return [line for e in simulate("walk:5") for line in e.lines]


def _valid_sentences(data: bytes) -> list[bytes]:
    out = []
    for match in SENTENCE.finditer(data):
        try:
            pynmea2.parse(match.group().decode("ascii").strip(), check=True)
        except (pynmea2.ParseError, UnicodeDecodeError):
            continue
        out.append(match.group())
    return out


def test_no_fault_is_the_plain_sentences() -> None:
    lines = _lines()
    assert b"".join(faults.apply(None, lines, random.Random(1), WIRE)) == "".join(lines).encode()


def test_garbage_surrounds_intact_sentences_with_binary_bytes() -> None:
    lines = _lines()
    chunks = faults.apply("garbage", lines, random.Random(2), WIRE)
    data = b"".join(chunks)
    sent = "".join(lines).encode()
    assert len(data) > len(sent)
    assert any(byte > 0x7F for byte in data)  # real binary, not just text
    assert b"\xb5\x62" in data  # some bursts look like UBX frames
    for line in lines:
        assert line.encode() in data  # every sentence still arrives whole


def test_checksum_errors_corrupt_some_sentences_and_only_their_checksum_check() -> None:
    lines = _lines()
    out = [c.decode() for c in faults.apply("checksum", lines, random.Random(3), WIRE)]
    assert len(out) == len(lines)
    bad = [line for line, orig in zip(out, lines, strict=True) if line != orig]
    assert 0.1 * len(lines) < len(bad) < 0.5 * len(lines)
    for line in bad:
        with pytest.raises(pynmea2.ChecksumError):
            pynmea2.parse(line.strip(), check=True)
        assert SENTENCE.fullmatch(line.encode())  # the shape is still a sentence


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_a_corrupted_sentence_never_passes_its_checksum(seed: int) -> None:
    line = "$GPGGA,120024.00,4721.99070,N,00832.72534,E,1,10,0.88,435.3,M,47.4,M,,*57\r\n"
    bad = corrupt_sentence(line, random.Random(seed))
    assert bad != line and bad.endswith("\r\n") and len(bad) == len(line)
    with pytest.raises(pynmea2.ChecksumError):
        pynmea2.parse(bad.strip(), check=True)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=200), baud=st.sampled_from([4800, 9600, 115200]))
def test_same_baud_reads_back_exactly(data: bytes, baud: int) -> None:
    assert misread(data, baud, baud) == data


def test_slow_receiver_read_fast_is_garbage() -> None:
    sent = "".join(_lines()).encode()
    garbled = misread(sent, 9600, 115200)
    assert len(garbled) > len(sent)  # each slow bit spans twelve fast ones
    assert _valid_sentences(garbled) == []
    assert b"$GP" not in garbled


def test_fast_receiver_read_slow_is_garbage() -> None:
    sent = "".join(_lines()).encode()
    garbled = misread(sent, 115200, 9600)
    assert 0 < len(garbled) < len(sent) / 4
    assert _valid_sentences(garbled) == []


def test_baud_fault_uses_the_wire_settings_and_chunks() -> None:
    lines = _lines()[:8]
    chunks = faults.apply("baud", lines, random.Random(4), WIRE)
    assert all(0 < len(c) <= faults.CHUNK_BYTES for c in chunks)
    assert b"".join(chunks) == misread("".join(lines).encode(), 9600, 115200)


def test_fault_segments_apply_their_fault() -> None:
    epochs = simulate("garbage:1,bad-checksum:1,baud-mismatch:1")
    names = {e.slot.segment.name: e.slot.segment.fault for e in epochs}
    assert names == {"garbage": "garbage", "bad-checksum": "checksum", "baud-mismatch": "baud"}
    assert set(names.values()) <= set(faults.FAULTS)
