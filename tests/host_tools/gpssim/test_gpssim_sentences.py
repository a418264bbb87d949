"""NMEA formatting of the simulator against real receiver output, pynmea2 and line-length rules."""

from datetime import UTC, datetime

import pynmea2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.core.nmea import checksum
from host_tools.gpssim.constellation import GALILEO, GLONASS, GPS, SatView, SkyView, System
from host_tools.gpssim.route import Point
from host_tools.gpssim.sentences import (
    FIX_3D,
    FIX_NONE,
    KNOTS_PER_MPS,
    Dialect,
    Epoch,
    epoch_sentences,
    format_coord,
    format_time,
)
from tests.host_tools.gpssim.gpssimkit import simulate


def _sats(system: System, rows: str, used: str) -> list[SatView]:
    """SatViews from GSV-style ``prn,el,az,snr`` groups, in channel order."""
    fields = rows.split(",")
    used_prns = {int(p) for p in used.split(",") if p}
    out = []
    for i in range(0, len(fields), 4):
        prn, el, az, snr = fields[i : i + 4]
        out.append(SatView(system, int(prn), int(el), int(az), int(snr) if snr else None,
                           int(prn) in used_prns))
    return out


def _used_first(sats: list[SatView], order: str) -> list[SatView]:
    """Used satellites in the GSA order of the log, then the others in GSV order."""
    by_prn = {s.prn: s for s in sats}
    first = [by_prn[int(p)] for p in order.split(",")]
    return first + [s for s in sats if not s.used]


# An epoch of a u-blox ANTARIS receiver (NMEA 2.3, GP talker): gpsd test log bt451.
BT451 = [
    "$GPRMC,175504.00,A,3825.60966,N,02708.53787,E,0.142,113.02,111206,,,A*6F",
    "$GPVTG,113.02,T,,M,0.142,N,0.263,K,A*3C",
    "$GPGGA,175504.00,3825.60966,N,02708.53787,E,1,07,1.24,58.1,M,37.7,M,,*61",
    "$GPGSA,A,3,19,11,25,14,01,31,22,,,,,,1.99,1.24,1.55*0C",
    "$GPGSV,3,1,10,19,62,212,26,11,40,306,25,03,35,184,,20,16,253,*7C",
    "$GPGSV,3,2,10,28,05,310,,25,06,146,43,14,54,071,44,01,53,162,44*71",
    "$GPGSV,3,3,10,31,05,137,41,22,28,055,35*73",
    "$GPZDA,175504.00,11,12,2006,00,00*63",
]


def test_gp_epoch_matches_a_real_ublox_epoch() -> None:
    gsv = ("19,62,212,26,11,40,306,25,03,35,184,,20,16,253,,28,05,310,,25,06,146,43,"
           "14,54,071,44,01,53,162,44,31,05,137,41,22,28,055,35")
    sats = _sats(GPS, gsv, "19,11,25,14,01,31,22")
    epoch = Epoch(
        time=datetime(2006, 12, 11, 17, 55, 4, tzinfo=UTC),
        position=Point(38 + 25.60966 / 60, 27 + 8.53787 / 60, 58.1),
        mode=FIX_3D,
        speed_mps=0.073,
        course_deg=113.02,
        geoid_separation_m=37.7,
        sky=SkyView(tuple(sats), 1.99, 1.24, 1.55),
    )
    lines = [s.strip() for s in epoch_sentences(epoch, Dialect("GP"))]
    assert lines == BT451


# An epoch of a u-blox ZED-F9P (NMEA 4.10, GN talker): gpsd test log ublox-zed-f9p-nmea.
F9P = [
    "$GNRMC,003956.00,A,4552.65403,S,17030.00668,E,0.025,,120419,,,A,V*07",
    "$GNVTG,,T,,M,0.025,N,0.045,K,A*3B",
    "$GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,*56",
    "$GNGSA,A,3,13,16,21,15,10,29,27,20,,,,,1.05,0.64,0.83,1*03",
    "$GNGSA,A,3,82,66,81,,,,,,,,,,1.05,0.64,0.83,2*0C",
    "$GNGSA,A,3,07,12,33,,,,,,,,,,1.05,0.64,0.83,3*0A",
    "$GPGSV,3,1,12,05,06,110,19,10,24,284,34,13,37,124,29,15,63,083,11,1*60",
    "$GPGSV,3,2,12,16,11,248,10,20,52,273,34,21,79,231,30,24,07,045,,1*64",
    "$GPGSV,3,3,12,26,04,276,,27,15,218,31,29,24,004,13,30,00,159,,1*69",
    "$GLGSV,3,1,10,65,53,144,,66,58,305,32,67,06,313,,72,09,137,,1*7A",
    "$GLGSV,3,2,10,73,06,174,,74,05,132,,81,64,223,35,82,13,214,33,1*7F",
    "$GLGSV,3,3,10,87,14,030,17,88,62,024,,1*74",
    "$GAGSV,3,1,09,02,00,179,,04,09,322,,07,11,134,11,11,09,227,,7*74",
    "$GAGSV,3,2,09,12,61,237,31,18,50,265,32,19,63,342,,26,11,044,,7*7B",
    "$GAGSV,3,3,09,33,62,034,08,7*41",
]


def test_gn_epoch_matches_a_real_ublox_f9p_epoch() -> None:
    gps = _sats(GPS, "05,06,110,19,10,24,284,34,13,37,124,29,15,63,083,11,16,11,248,10,"
                "20,52,273,34,21,79,231,30,24,07,045,,26,04,276,,27,15,218,31,29,24,004,13,"
                "30,00,159,", "13,16,21,15,10,29,27,20")
    glo = _sats(GLONASS, "65,53,144,,66,58,305,32,67,06,313,,72,09,137,,73,06,174,,"
                "74,05,132,,81,64,223,35,82,13,214,33,87,14,030,17,88,62,024,", "82,66,81")
    gal = _sats(GALILEO, "02,00,179,,04,09,322,,07,11,134,11,11,09,227,,12,61,237,31,"
                "18,50,265,32,19,63,342,,26,11,044,,33,62,034,08", "07,12,33")
    # GSA lists the used satellites in channel order; GSV lists all of them by id.
    order = {"GP": "13,16,21,15,10,29,27,20", "GL": "82,66,81", "GA": "07,12,33"}
    sky_used = [s for group, key in ((gps, "GP"), (glo, "GL"), (gal, "GA"))
                for s in _used_first(group, order[key]) if s.used]
    sky_rest = [s for group in (gps, glo, gal) for s in group]
    epoch = Epoch(
        time=datetime(2019, 4, 12, 0, 39, 56, tzinfo=UTC),
        position=Point(-(45 + 52.65403 / 60), 170 + 30.00668 / 60, 14.2),
        mode=FIX_3D,
        speed_mps=0.01262,  # 0.025 kn and 0.045 km/h as the receiver printed them
        course_deg=None,
        geoid_separation_m=1.8,
        sky=SkyView(tuple(sky_used), 1.05, 0.64, 0.83),
    )
    lines = [s.strip() for s in epoch_sentences(epoch, Dialect("GN"))]
    assert lines[:6] == F9P[:6]
    epoch_all = Epoch(**{**epoch.__dict__, "sky": SkyView(tuple(sky_rest), 1.05, 0.64, 0.83)})
    gsv_lines = [s.strip() for s in epoch_sentences(epoch_all, Dialect("GN"), ("GSV",))]
    assert gsv_lines == F9P[6:]


def test_no_fix_sentences_match_ublox_output() -> None:
    sky = SkyView((), 99.99, 99.99, 99.99)
    epoch = Epoch(None, None, FIX_NONE, None, None, 0.0, sky)
    lines = [s.strip() for s in epoch_sentences(epoch, Dialect("GP"))]
    # Real u-blox lines before the first fix (gpsd log bt451).
    assert "$GPGGA,,,,,,0,00,99.99,,,,,,*48" in lines
    assert "$GPRMC,,V,,,,,,,,,,N*53" in lines
    assert "$GPVTG,,,,,,,,,N*30" in lines
    assert "$GPGSV,1,1,00*79" in lines
    assert "$GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99*30" in lines  # 12 empty satellite slots


def test_coordinates_and_time_format() -> None:
    assert format_coord(47.36665, 2) == "4721.99900"
    assert format_coord(-8.5455, 3) == "00832.73000"
    # 59.999999 minutes must carry into the degrees, never print "60.00000".
    assert format_coord(10.99999999999, 2) == "1100.00000"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 100000, tzinfo=UTC)) == "030405.10"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 999000, tzinfo=UTC)) == "030406.00"
    assert format_time(None) == ""


@pytest.mark.parametrize("talker", ["GP", "GN"])
@pytest.mark.parametrize("scenario", ["cold-start", "demo", "indoor,spoof", "stand:3"])
def test_every_sentence_parses_with_checksum_and_fits_82_chars(talker: str, scenario: str) -> None:
    seen: set[str] = set()
    for epoch in simulate(scenario, talker=talker, rate_hz=2.0):
        for line in epoch.lines:
            assert line.endswith("\r\n") and len(line) <= 82, line
            msg = pynmea2.parse(line.strip(), check=True)
            seen.add(msg.talker + msg.sentence_type)
    expected = {f"{talker}{k}" for k in ("GGA", "RMC", "GSA", "VTG", "ZDA")} | {"GPGSV"}
    if talker == "GN":
        expected |= {"GLGSV", "GAGSV"}
    assert expected <= seen


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-89.999, 89.999),
    lon=st.floats(-179.999, 179.999),
    speed=st.floats(0.0, 60.0),
    course=st.floats(0.0, 359.99),
    alt=st.floats(-400.0, 9000.0),
    seconds=st.integers(0, 10**9),
    talker=st.sampled_from(["GP", "GN"]),
)
def test_formatting_round_trips_through_pynmea2(
    lat: float, lon: float, speed: float, course: float, alt: float, seconds: int, talker: str
) -> None:
    when = datetime.fromtimestamp(seconds, UTC)
    sats = tuple(SatView(GPS, p, 10 + 5 * p, (40 * p) % 360, 30 + p, True) for p in range(1, 13))
    epoch = Epoch(when, Point(lat, lon, alt), FIX_3D, speed, course, 47.4,
                  SkyView(sats, 1.8, 0.9, 1.5))
    lines = epoch_sentences(epoch, Dialect(talker))
    for line in lines:
        assert len(line) <= 82
        body, _, cs = line.strip()[1:].partition("*")
        assert cs == checksum(body)
    gga = pynmea2.parse(lines[2].strip(), check=True)
    assert abs(gga.latitude - lat) < 1e-6 and abs(gga.longitude - lon) < 1e-6
    rmc = pynmea2.parse(lines[0].strip(), check=True)
    assert abs(rmc.spd_over_grnd - speed * KNOTS_PER_MPS) < 0.001
    assert rmc.datestamp == when.date()
