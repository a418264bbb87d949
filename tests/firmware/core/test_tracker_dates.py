"""GPS time for every fix: dates carried over midnight, from a synchronised clock, back-filled."""

from datetime import UTC, date, datetime

from fieldcheck_protocol.clock import ManualClock
from firmware.core.fix import DateSource
from firmware.core.observation import UtcTime
from firmware.core.tracker import FixTracker, TrackerPolicy
from firmware.core.utc_day import MAX_CARRY_S, FixedClockSync, backfill_dates, nearest_date
from tests.firmware.core.test_tracker import feed, fixes, obs

GGA = "GPGGA,{},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"



def test_nearest_date_rolls_over_midnight_both_ways() -> None:
    late = datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)
    assert nearest_date(UtcTime(0, 0, 0), late) == date(2026, 11, 25)
    assert nearest_date(UtcTime(23, 59, 58), late) == date(2026, 11, 24)
    early = datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)
    assert nearest_date(UtcTime(23, 59, 59), early) == date(2026, 11, 24)
    assert nearest_date(UtcTime(23, 59, 60), early) == date(2026, 11, 24)  # leap second


def test_backfill_walks_back_over_midnight() -> None:
    later = datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)
    times = [(UtcTime(23, 59, 59), 10.0), (UtcTime(0, 0, 0), 11.0)]
    assert backfill_dates(times, later, 12.0) == [date(2026, 11, 24), date(2026, 11, 25)]


def test_gga_only_stream_with_an_unsynchronised_clock_has_no_date() -> None:
    tracker = FixTracker(ManualClock(), clock_sync=FixedClockSync(False))
    out = feed(tracker, [obs(GGA.format("120000")), obs(GGA.format("120001"))])
    out += tracker.flush()
    assert len(fixes(out)) == 2
    # Never guessed: without a trustworthy date the unit writes no record for these fixes.
    assert all(f.utc is None and f.date_source is None for f in fixes(out))
    assert tracker.dates_by_source == {"none": 2}


def test_gga_only_stream_takes_the_date_of_a_synchronised_clock() -> None:
    # The system clock is just past midnight; the receiver still says 23:59:59 of the day before.
    clock = ManualClock(wall=datetime(2026, 11, 25, 0, 0, 0, 400000, tzinfo=UTC))
    tracker = FixTracker(clock, clock_sync=FixedClockSync(True))
    out = feed(tracker, [obs(GGA.format("235959")), obs(GGA.format("000000"))])
    out += tracker.flush()
    assert [f.utc for f in fixes(out)] == [
        datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC),
    ]
    assert {f.date_source for f in fixes(out)} == {DateSource.SYSTEM_CLOCK}
    assert all(f.usable for f in fixes(out))


def test_gps_date_is_carried_over_midnight_and_preferred_to_the_clock() -> None:
    clock = ManualClock(wall=datetime(2030, 1, 1, tzinfo=UTC))  # synchronised but disagreeing
    tracker = FixTracker(clock, clock_sync=FixedClockSync(True))
    out = feed(
        tracker,
        [
            obs("GPRMC,235959,A,4807.038,N,01131.000,E,0,0,241126,,"),
            obs(GGA.format("235959")),
            obs(GGA.format("000000")),
            obs(GGA.format("000001")),
        ],
    )
    out += tracker.flush()
    got = [(f.utc, f.date_source) for f in fixes(out)]
    assert got == [
        (datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC), DateSource.GPS),
        (datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC), DateSource.CARRIED),
        (datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC), DateSource.CARRIED),
    ]


def test_a_carried_date_expires_after_a_long_silence() -> None:
    clock = ManualClock()
    tracker = FixTracker(clock, clock_sync=FixedClockSync(False))
    feed(tracker, [obs("GPRMC,120000,A,4807.038,N,01131.000,E,0,0,241126,,")])
    tracker.flush()
    clock.advance(MAX_CARRY_S + 1)
    feed(tracker, [obs(GGA.format("180001"))])
    (fix,) = fixes(tracker.flush())
    assert fix.utc is None and fix.date_source is None


def test_backfill_dates_epochs_before_the_first_date_and_keeps_their_order() -> None:
    tracker = FixTracker(ManualClock(), TrackerPolicy(backfill_dates=True))
    out = feed(tracker, [obs(GGA.format("235958")), obs(GGA.format("235959"))])
    out += feed(tracker, [obs(GGA.format("000000"))])
    assert fixes(out) == []  # held until a date shows up
    out += feed(tracker, [obs("GPZDA,000001.00,25,11,2026,00,00"), obs(GGA.format("000002"))])
    out += tracker.flush()
    got = [(f.utc, f.date_source) for f in fixes(out)]
    assert got == [
        (datetime(2026, 11, 24, 23, 59, 58, tzinfo=UTC), DateSource.BACKFILL),
        (datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC), DateSource.BACKFILL),
        (datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC), DateSource.BACKFILL),
        (datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC), DateSource.GPS),
        (datetime(2026, 11, 25, 0, 0, 2, tzinfo=UTC), DateSource.CARRIED),
    ]
    assert tracker.epochs == 5
    assert tracker.dates_by_source == {"backfill": 3, "gps": 1, "carried": 1}


def test_backfill_without_any_date_releases_the_epochs_undated_at_the_end() -> None:
    tracker = FixTracker(ManualClock(), TrackerPolicy(backfill_dates=True))
    out = feed(tracker, [obs(GGA.format("120000")), obs(GGA.format("120001"))])
    out += tracker.flush()
    assert [f.time_key for f in fixes(out)] == [43_200_000, 43_201_000]
    assert all(f.utc is None for f in fixes(out))
