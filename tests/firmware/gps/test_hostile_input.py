"""Hostile NMEA (issue 8): bad fields are rejected sentences counted by reason, never fixes."""

import math
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.clock import ManualClock
from firmware.core.framer import LineFramer
from firmware.core.nmea import build_sentence
from firmware.core.tracker import FixTracker
from firmware.gps.parser import SentenceParser
from firmware.gps.reader import NmeaReader
from firmware.gps.settings import ReaderSettings
from firmware.tools.gps_inspect import inspect_log, read_chunks

GGA = "GPGGA,120000.00,4807.038,N,01131.000,E,{q},{sats},{hdop},{alt},M,46.9,M,,"
RMC = "GPRMC,120000.00,A,4807.038,N,01131.000,E,{speed},{course},241126,,,A"


def gga(q: str = "1", sats: str = "09", hdop: str = "0.9", alt: str = "545.4") -> str:
    return build_sentence(GGA.format(q=q, sats=sats, hdop=hdop, alt=alt)).strip()


def parse_one(line: str) -> tuple[object, dict[str, int]]:
    parser = SentenceParser()
    return parser.parse(line), dict(parser.rejected)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (gga(alt="nan"), "bad_altitude"),
        (gga(alt="inf"), "bad_altitude"),
        (gga(alt="-inf"), "bad_altitude"),
        (gga(alt="1e309"), "bad_altitude"),
        (gga(alt="123456789"), "bad_altitude"),
        (gga(hdop="nan"), "bad_hdop"),
        (gga(hdop="-1"), "bad_hdop"),
        (gga(sats="256"), "bad_satellites"),
        (gga(sats="-1"), "bad_satellites"),
        (gga(q="-3"), "bad_quality"),
        (build_sentence(RMC.format(speed="nan", course="84.4")).strip(), "bad_speed"),
        (build_sentence(RMC.format(speed="-2", course="84.4")).strip(), "bad_speed"),
        (build_sentence(RMC.format(speed="0.5", course="361")).strip(), "bad_course"),
        (build_sentence(RMC.format(speed="0.5", course="inf")).strip(), "bad_course"),
        (build_sentence("GPGGA,120000,-4807.038,N,01131.000,E,1,08,0.9,545,M,,M,,").strip(),
         "bad_latitude"),
        (build_sentence("GPGGA,120000,4807.038,N,18031.000,E,1,08,0.9,545,M,,M,,").strip(),
         "bad_longitude"),
        ("$GPZDA,110000.00,01,12,99999999999999999999,00,00*64", "bad_date"),
        (build_sentence("GPZDA,110000.00,01,12,1066,00,00").strip(), "bad_date"),
        (build_sentence("GPVTG,nan,T,,M,0.5,N,0.9,K,A").strip(), "bad_course"),
        (build_sentence("GPGSV,1,1,300,01,40,083,46").strip(), "bad_satellites"),
    ],
)
def test_bad_field_is_a_rejected_sentence_counted_by_reason(line: str, reason: str) -> None:
    observation, rejected = parse_one(line)
    assert observation is None
    assert rejected == {reason: 1}


def test_the_parser_librarys_own_exceptions_are_caught_and_counted() -> None:
    observation, rejected = parse_one("$PTNL*06")  # IndexError inside pynmea2
    assert observation is None and sum(rejected.values()) == 1


def test_one_bad_line_per_epoch_costs_no_fix() -> None:
    """Issue 8: one such line per epoch gave 0 usable fixes in 14 s."""
    reader = NmeaReader()
    tracker = FixTracker(ManualClock())
    fixes = []
    for second in range(14):
        t = f"1200{second:02d}.00"
        data = "".join(
            build_sentence(s)
            for s in (
                f"GPRMC,{t},A,4807.038,N,01131.000,E,0.5,84.4,241126,,,A",
                f"GPGGA,{t},4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,",
            )
        ).encode()
        data += b"$GPZDA,110000.00,01,12,99999999999999999999,00,00*64\r\n$PTNL*06\r\n"
        for obs in reader.feed(data):
            fixes += tracker.observe(obs)
    fixes += tracker.flush()
    assert tracker.usable_count >= 13
    assert reader.counts().rejected.get("bad_date") == 14


FLOATS = st.sampled_from(
    ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e18", "-1e18", "99999999"]
)


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(["alt", "hdop", "sats", "speed", "course", "lat", "year"]),
    value=st.one_of(FLOATS, st.integers(min_value=-(10**30), max_value=10**30).map(str)),
)
def test_generated_non_finite_and_out_of_range_fields_never_make_a_usable_fix(
    which: str, value: str
) -> None:
    fields = {"alt": "545.4", "hdop": "0.9", "sats": "09", "speed": "0.5", "course": "84.4",
              "lat": "4807.038", "year": "2026"}
    fields[which] = value
    lines = [
        f"GPRMC,120000.00,A,{fields['lat']},N,01131.000,E,{fields['speed']},{fields['course']},"
        "241126,,,A",
        f"GPGGA,120000.00,{fields['lat']},N,01131.000,E,1,{fields['sats']},{fields['hdop']},"
        f"{fields['alt']},M,46.9,M,,",
        f"GPZDA,120000.00,24,11,{fields['year']},00,00",
    ]
    reader = NmeaReader()
    tracker = FixTracker(ManualClock())
    out = []
    for obs in reader.feed("".join(build_sentence(s) for s in lines).encode()):
        out += tracker.observe(obs)
    out += tracker.flush()
    for fix in (o for o in out if hasattr(o, "usable")):
        for number in (fix.altitude_m, fix.hdop, fix.speed_mps, fix.course_deg, fix.latitude):
            assert number is None or math.isfinite(number)
        assert fix.satellites_used is None or 0 <= fix.satellites_used <= 255
        assert fix.latitude is None or -90 <= fix.latitude <= 90
        if fix.altitude_m is not None:
            assert -1500 <= fix.altitude_m <= 50_000
        assert fix.utc is None or 1980 <= fix.utc.year <= 2099


def test_framer_work_is_linear_in_the_input() -> None:
    """feed(b'$' * n) took 14-17 s at n = 65536: quadratic. Count scanned bytes instead."""
    scanned: list[int] = []
    for size in (4096, 16384):
        framer = LineFramer()
        scanned.append(framer_scan_cost(framer, b"$" * size))
    assert scanned[1] <= 5 * scanned[0]  # 4x the input: about 4x the work, not 16x


def framer_scan_cost(framer: LineFramer, data: bytes) -> int:
    framer.feed(data)
    return framer.scanned


@pytest.mark.slow
def test_framer_and_inspect_of_hostile_files_take_seconds_not_minutes(tmp_path: Path) -> None:
    start = time.process_time()
    LineFramer().feed(b"$" * 65536)
    assert time.process_time() - start < 10.0  # was 14-17 s
    path = tmp_path / "dollars.nmea"
    path.write_bytes(b"$" * 262144)
    start = time.process_time()
    summary = inspect_log(read_chunks(path), ReaderSettings(), ManualClock(), lambda fix: None)
    assert time.process_time() - start < 20.0  # was 71 s
    assert summary["epochs"] == 0 and summary["rejected"]["truncated"] == 262143
