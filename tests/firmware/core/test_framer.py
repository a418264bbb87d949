"""The line framer: split reads, line endings, garbage, overlong and non-ASCII lines."""

from firmware.core.framer import LineFramer
from firmware.core.nmea import build_sentence

GGA = build_sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,").strip()
RMC = build_sentence("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W").strip()


def test_sentence_split_across_reads_is_joined() -> None:
    framer = LineFramer()
    data = (GGA + "\r\n").encode()
    assert framer.feed(data[:10]) == []
    assert framer.feed(data[10:30]) == []
    assert framer.feed(data[30:]) == [GGA]
    assert framer.rejected.total() == 0


def test_crlf_lf_and_cr_endings_all_frame() -> None:
    framer = LineFramer()
    data = f"{GGA}\r\n{RMC}\n{GGA}\r{RMC}\r\n".encode()
    assert framer.feed(data) == [GGA, RMC, GGA, RMC]
    assert framer.rejected.total() == 0


def test_binary_garbage_between_sentences_is_counted_and_skipped() -> None:
    framer = LineFramer()
    ubx = b"\xb5\x62\x01\x07\x5c\x00" + bytes(range(0x80, 0xA0))
    lines = framer.feed(ubx + (GGA + "\r\n").encode() + b"\xff\xfe" + (RMC + "\r\n").encode())
    assert lines == [GGA, RMC]
    assert framer.rejected["garbage"] == 2
    assert framer.garbage_bytes == len(ubx) + 2


def test_sentence_cut_by_a_new_start_is_truncated() -> None:
    framer = LineFramer()
    lines = framer.feed(f"{GGA[:20]}{RMC}\r\n".encode())
    assert lines == [RMC]
    assert framer.rejected["truncated"] == 1


def test_overlong_line_is_rejected_once_and_framing_resumes() -> None:
    framer = LineFramer(max_line=90)
    long_line = "$GPXXX," + "A" * 300
    lines = framer.feed(long_line.encode()[:150])
    lines += framer.feed(long_line.encode()[150:] + f"\r\n{GGA}\r\n".encode())
    assert lines == [GGA]
    assert framer.rejected == {"overlong": 1}


def test_overlong_terminated_line_is_rejected() -> None:
    framer = LineFramer(max_line=90)
    assert framer.feed(("$GPXXX," + "B" * 100 + "\r\n" + GGA + "\r\n").encode()) == [GGA]
    assert framer.rejected == {"overlong": 1}


def test_non_ascii_inside_a_line_is_rejected() -> None:
    framer = LineFramer()
    bad = GGA.encode().replace(b"N", b"\xc3\x91", 1)
    assert framer.feed(bad + b"\r\n" + RMC.encode() + b"\r\n") == [RMC]
    assert framer.rejected == {"non_ascii": 1}


def test_blank_lines_and_padding_are_not_garbage() -> None:
    framer = LineFramer()
    assert framer.feed(b"\r\n\r\n  \x00" + GGA.encode() + b"\r\n\n") == [GGA]
    assert framer.rejected.total() == 0
    assert framer.bytes_in == len(GGA) + 10


def test_byte_at_a_time_feeding_gives_the_same_lines() -> None:
    data = b"\x01\x02garbage" + f"{GGA}\r\n{RMC}\n".encode()
    framer = LineFramer()
    lines = [line for b in data for line in framer.feed(bytes([b]))]
    assert lines == [GGA, RMC]
