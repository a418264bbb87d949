"""The NMEA fast paths (issue 13) against the plain ways they replace, on the same input."""

import os
import random
import time

import pytest

from firmware.core import framer as framer_module
from firmware.core.framer import LineFramer
from firmware.core.nmea import build_sentence
from firmware.core.observation import Gns, Gsa, Gsv
from firmware.gps import parser as parser_module
from firmware.gps.backends import serial as serial_backend
from firmware.gps.parser import SentenceParser
from firmware.tools import gps_bench
from tests.firmware.gps.observable import fuzz_stream

GGA = build_sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
GSV = build_sentence("GPGSV,3,1,11,01,40,083,46,02,17,308,41,03,07,344,39,04,22,228,45")


def _frame(data: bytes, chunks: list[int], bulk: bool) -> tuple[list[str], object]:
    framer = LineFramer()
    if not bulk:
        framer._clean = None  # every byte through the line-by-line scan
    lines, at = [], 0
    for size in chunks:
        lines += framer.feed(data[at : at + size])
        at += size
    lines += framer.feed(data[at:])
    return lines, (dict(framer.rejected), framer.bytes_in, framer.garbage_bytes)


@pytest.mark.parametrize("seed", range(6))
def test_bulk_framing_gives_the_lines_and_counts_of_the_scan(seed: int) -> None:
    """Clean runs, binary frames, overlong and cut lines, in random chunkings."""
    rng = random.Random(seed)
    data = gps_bench.synthetic_stream(200) + fuzz_stream(300, seed) + GGA.encode() * 3
    chunks = [rng.choice((1, 7, 61, 300, 4096)) for _ in range(len(data) // 50)]
    bulk = _frame(data, chunks, bulk=True)
    assert bulk == _frame(data, chunks, bulk=False)
    assert len(bulk[0]) > 200


def test_a_clean_read_is_framed_in_bulk_and_a_dirty_one_by_the_scan() -> None:
    framer = LineFramer()
    data = (GGA + GSV).encode()
    assert framer.feed(data) == [GGA.strip(), GSV.strip()]
    assert framer.scanned == len(data)  # one pass of the run's regular expression
    framer.feed(b"\xb5\x62" + data)  # a binary frame first: the scan, which counts it
    assert framer.rejected["garbage"] == 1 and framer.scanned > 3 * len(data)


def test_bulk_framing_keeps_the_line_length_limit() -> None:
    long_line = build_sentence("GPTXT," + "A" * 150)
    lines, (rejected, _, _) = _frame((long_line + GGA).encode(), [], bulk=True)
    assert lines == [GGA.strip()] and rejected == {"overlong": 1}
    assert framer_module._clean_run(0) is None


def test_a_repeated_line_is_the_same_observation_counted_again() -> None:
    parser = SentenceParser()
    first = parser.parse(GSV.strip())
    again = parser.parse(GSV.strip())
    assert isinstance(first, Gsv) and again is first
    assert parser.accepted == {"GSV": 2} and parser.talkers == {"GP": 2}


def test_the_remembered_lines_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser_module, "KNOWN_LINES", 8)
    parser = SentenceParser()
    for second in range(50):
        parser.parse(build_sentence(f"GPGGA,1235{second:02d},4807.038,N,01131.000,E,1,08,0.9,"
                                    "545.4,M,46.9,M,,").strip())
        assert len(parser._known) <= 8
    assert parser.accepted == {"GGA": 50}


def test_refused_lines_are_not_remembered_and_counted_each_time() -> None:
    parser = SentenceParser()
    bad = build_sentence("GPGGA,123519,4807.038,N,01131.000,E,1,300,0.9,545.4,M,46.9,M,,").strip()
    assert parser.parse(bad) is None and parser.parse(bad) is None
    assert parser.rejected == {"bad_satellites": 2} and not parser._known


def test_observations_of_different_types_with_equal_fields_differ() -> None:
    fields = ("GP", 3, (1, 2), 1.0, 0.9, 1.2, "gps")
    gsa, gns = Gsa(*fields), Gns(*fields)
    assert tuple(gsa) == tuple(gns) and gsa != gns and not gsa == gns  # noqa: SIM201
    assert gsa == Gsa(*fields) and hash(gsa) == hash(Gsa(*fields))
    assert {gsa: 1}.get(Gsa(*fields)) == 1


def test_bench_reads_through_the_source_the_daemon_configures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bench opened SerialSource with gather_s 0, the daemon reads with the backend's 0.05."""
    made: list[serial_backend.Config] = []
    real_create = serial_backend.create

    def create(config: serial_backend.Config) -> serial_backend.SerialSource:
        made.append(config)
        return real_create(config)

    monkeypatch.setattr(serial_backend, "create", create)
    result = gps_bench.run(80, repeats=1)
    assert result["chunked_sentences"] == 80
    assert [c.gather_s for c in made] == [serial_backend.Config().gather_s]
    assert made[0].max_chunk == serial_backend.Config().max_chunk


def test_bench_counts_cpu_from_port_open_not_the_set_up_before() -> None:
    """Opening the port (and the first pyserial import) was charged to the chunked path."""
    data = gps_bench.synthetic_stream(8)

    def consume(port: str, go: object) -> int:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:  # set-up work before the port is ready
            pass
        go()  # type: ignore[operator]
        fd = os.open(port, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
        return 8

    count, cpu = gps_bench._over_pty(data, consume)
    assert count == 8 and cpu < 0.1
