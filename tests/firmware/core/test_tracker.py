"""The fix tracker: one Fix per epoch, merged fields, state hysteresis, events, clock offset."""

from datetime import UTC, date, datetime

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.core import nmea_fields as f
from firmware.core.fix import EventKind, Fix, FixType, GpsEvent, GpsState
from firmware.core.observation import Observation
from firmware.core.tracker import FixTracker, Output, TrackerPolicy


def obs(sentence: str) -> Observation:
    """Type a ``TTSSS,fields`` body the way the parser would."""
    head, *fields = sentence.split(",")
    build = getattr(f, head[2:].lower())
    return build(head[:2], fields)  # type: ignore[no-any-return]


def good_epoch(hhmmss: str, lat: str = "4807.038", ddmmyy: str = "241126") -> list[Observation]:
    return [
        obs(f"GNRMC,{hhmmss}.00,A,{lat},N,01131.000,E,1.944,84.4,{ddmmyy},,,A,V"),
        obs(f"GNGGA,{hhmmss}.00,{lat},N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,"),
        obs("GNGSA,A,3,01,02,03,04,05,,,,,,,,1.5,0.9,1.2,1"),
        obs("GNGSA,A,3,65,66,67,,,,,,,,,,1.5,0.9,1.2,2"),
        obs("GPGSV,2,1,07,01,40,083,46,02,17,308,41,03,07,344,39,04,22,228,45,1"),
        obs("GPGSV,2,1,05,01,40,083,46,02,17,308,41,03,07,344,39,04,22,228,45,6"),
        obs("GLGSV,1,1,04,65,40,083,46,66,17,308,41,67,07,344,39,68,22,228,45,1"),
    ]


def no_fix_epoch(hhmmss: str) -> list[Observation]:
    return [
        obs(f"GNRMC,{hhmmss}.00,V,,,,,,,241126,,,N,V"),
        obs(f"GNGGA,{hhmmss}.00,,,,,0,00,99.99,,,,,,"),
        obs("GNGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99,1"),
    ]


def feed(tracker: FixTracker, observations: list[Observation]) -> list[Output]:
    return [out for o in observations for out in tracker.observe(o)]


def fixes(outputs: list[Output]) -> list[Fix]:
    return [o for o in outputs if isinstance(o, Fix)]


def events(outputs: list[Output]) -> list[GpsEvent]:
    return [o for o in outputs if isinstance(o, GpsEvent)]


def test_one_fix_per_epoch_with_merged_fields() -> None:
    clock = ManualClock(wall=datetime(2026, 11, 24, 12, 0, 0, 500000, tzinfo=UTC))
    tracker = FixTracker(clock)
    out = feed(tracker, good_epoch("120000") + good_epoch("120001")[:1])
    (fix,) = fixes(out)
    assert fix.utc == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert fix.latitude == pytest.approx(48.1173) and fix.altitude_m == 545.4
    assert fix.fix_type is FixType.THREE_D and fix.valid and fix.quality == 1
    assert (fix.hdop, fix.pdop, fix.vdop) == (0.9, 1.5, 1.2)
    assert fix.satellites_used == 9
    assert fix.used_by_system == {"gps": 5, "glonass": 3}
    assert fix.in_view_by_system == {"gps": 7, "glonass": 4}
    assert fix.speed_mps == pytest.approx(1.0, abs=0.001) and fix.course_deg == 84.4
    assert fix.sentences == ("RMC", "GGA", "GSA", "GSV") and fix.talkers == ("GN", "GP", "GL")
    assert (
        fix.clock_offset_s == pytest.approx(-0.5) and tracker.clock_offset_s == fix.clock_offset_s
    )
    assert fix.usable


def test_first_epoch_sets_state_at_once_then_hysteresis_for_loss_and_regain() -> None:
    clock = ManualClock()
    tracker = FixTracker(clock, TrackerPolicy(hysteresis_epochs=3))
    out = feed(tracker, good_epoch("120000") + good_epoch("120001"))
    assert [e.kind for e in events(out)] == [EventKind.FIX_ACQUIRED]
    assert tracker.state is GpsState.FIX_3D
    out = feed(tracker, no_fix_epoch("120002") + no_fix_epoch("120003") + no_fix_epoch("120004"))
    assert events(out) == [] and tracker.state is GpsState.FIX_3D  # only 2 closed so far
    out = feed(tracker, good_epoch("120005"))
    (lost,) = events(out)
    assert lost.kind is EventKind.FIX_LOST and lost.current is GpsState.NO_FIX
    out = feed(tracker, good_epoch("120006") + good_epoch("120007") + good_epoch("120008"))
    (regained,) = events(out)
    assert regained.kind is EventKind.FIX_REGAINED and regained.previous is GpsState.NO_FIX
    assert regained.fix is not None and regained.fix.valid


def test_a_single_bad_epoch_does_not_flap_the_state() -> None:
    tracker = FixTracker(ManualClock(), TrackerPolicy(hysteresis_epochs=2))
    out = feed(tracker, good_epoch("120000") + no_fix_epoch("120001") + good_epoch("120002"))
    out += feed(tracker, no_fix_epoch("120003") + good_epoch("120004") + good_epoch("120005"))
    assert [e.kind for e in events(out)] == [EventKind.FIX_ACQUIRED]


def test_no_data_closes_the_epoch_and_loses_the_fix_immediately() -> None:
    tracker = FixTracker(ManualClock())
    feed(tracker, good_epoch("120000"))
    out = tracker.no_data()
    assert len(fixes(out)) == 1
    assert [e.kind for e in events(out)] == [EventKind.FIX_ACQUIRED, EventKind.FIX_LOST]
    assert tracker.state is GpsState.NO_DATA
    assert tracker.no_data() == []


def test_2d_fix_from_gsa_mode() -> None:
    tracker = FixTracker(ManualClock())
    feed(
        tracker,
        [
            obs("GPGGA,120000,4807.038,N,01131.000,E,1,03,2.0,,M,,M,,"),
            obs("GPGSA,A,2,01,02,03,,,,,,,,,,2.5,2.0,1.5"),
        ],
    )
    (fix,) = fixes(tracker.flush())
    assert fix.fix_type is FixType.TWO_D and tracker.state is GpsState.FIX_2D
    assert fix.utc is None  # GGA alone carries no date


def test_date_carried_from_rmc_to_later_gga_only_epochs_and_rolled_at_midnight() -> None:
    tracker = FixTracker(ManualClock())
    gga = "GPGGA,{},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    out = feed(
        tracker,
        [
            obs("GPRMC,235959,A,4807.038,N,01131.000,E,0,0,241126,,"),
            obs(gga.format("235959")),
            obs(gga.format("000000")),
            obs(gga.format("000001")),
        ],
    )
    out += tracker.flush()
    assert [x.utc for x in fixes(out)] == [
        datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC),
    ]


def test_leap_second_epoch_does_not_raise() -> None:
    tracker = FixTracker(ManualClock())
    feed(
        tracker,
        [
            obs("GPRMC,235960,A,4807.038,N,01131.000,E,0,0,311216,,"),
            obs("GPZDA,235960.00,31,12,2016,00,00"),
        ],
    )
    (fix,) = fixes(tracker.flush())
    assert fix.leap_second and fix.utc == datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert fix.time_key == 86_400_000


def test_untimed_epochs_split_on_repeated_sentence() -> None:
    tracker = FixTracker(ManualClock())
    empty = obs("GPGGA,,,,,,0,,,,M,,M,,")
    out = feed(tracker, [empty, obs("GPGSA,A,1,,,,,,,,,,,,,,,"), empty, empty])
    assert len(fixes(out)) == 2 and tracker.state is GpsState.NO_FIX
    assert all(not fx.valid and fx.latitude is None for fx in fixes(out))


def test_empty_positions_never_become_zero() -> None:
    tracker = FixTracker(ManualClock())
    feed(tracker, no_fix_epoch("120000"))
    (fix,) = fixes(tracker.flush())
    assert fix.latitude is None and fix.longitude is None and fix.fix_type is FixType.NONE
    assert fix.flags == ("invalid", "poor_hdop") and tracker.fixes_by_type == {"none": 1}
    assert fix.utc is not None and fix.utc.date() == date(2026, 11, 24)
