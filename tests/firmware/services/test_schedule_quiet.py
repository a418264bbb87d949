"""Quiet hours and check-ins per week: no slot in quiet hours, a week drawn and published once."""

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware import config
from firmware.errors import ConfigError
from firmware.services.schedule import CheckinSettings, Schedule, Slot
from firmware.services.schedule_book import BOOK_FILE, ScheduleBook
from firmware.services.schedule_layout import local_instant
from tests.firmware.services.test_schedule_kept import boot, events

DAY = date(2026, 11, 24)  # a Tuesday
MONDAY = date(2026, 11, 23)
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)  # Zurich: 02:00->03:00, 03:00->02:00


def schedule(seed: int = 1, book_path: Path | None = None, **settings: object) -> Schedule:
    book = ScheduleBook(book_path) if book_path is not None else None
    return Schedule(CheckinSettings(**settings), random.Random(seed), book)  # type: ignore[arg-type]


def quiet_utc(sched: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The real instants of the quiet hours touching ``day`` (each end from the zone)."""
    begin, end = (time.fromisoformat(t) for t in (sched.settings.quiet_start,
                                                   sched.settings.quiet_end))
    if begin < end:
        return [(local_instant(day, begin, sched.zone), local_instant(day, end, sched.zone))]
    return [(local_instant(day - timedelta(days=1), begin, sched.zone),
             local_instant(day, end, sched.zone)),
            (local_instant(day, begin, sched.zone),
             local_instant(day + timedelta(days=1), end, sched.zone))]


def assert_clear_of_quiet(sched: Schedule, slots: list[Slot], day: date) -> None:
    reminder = timedelta(minutes=sched.settings.reminder_min)
    for slot in slots:
        first = min(slot.opens, slot.due - reminder)  # the wearer hears of it from here
        for begin, end in quiet_utc(sched, day):
            assert slot.closes <= begin or first >= end, (slot, begin, end)
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert earlier.closes <= later.due  # slots never overlap


@pytest.mark.parametrize("seed", range(40))
def test_no_slot_falls_in_quiet_hours_inside_the_day(seed: int) -> None:
    sched = schedule(seed, mode="windows", per_day=4, day_start="08:00", day_end="20:00",
                     quiet_start="12:00", quiet_end="14:00", grace_min=15,
                     timezone="Europe/Zurich")
    slots = sched.slots_on(DAY)
    assert len(slots) == 4
    assert_clear_of_quiet(sched, slots, DAY)
    start = local_instant(DAY, time(8), sched.zone)
    end = local_instant(DAY, time(20), sched.zone)
    assert all(start <= s.due and s.closes <= end for s in slots)


@pytest.mark.parametrize("seed", range(20))
def test_quiet_hours_across_midnight_keep_the_night_free(seed: int) -> None:
    sched = schedule(seed, mode="windows", per_day=3, day_start="05:00", day_end="23:30",
                     quiet_start="22:00", quiet_end="07:00", timezone="America/New_York")
    slots = sched.slots_on(DAY)
    assert len(slots) == 3
    assert_clear_of_quiet(sched, slots, DAY)
    for slot in slots:
        local_due = slot.due.astimezone(sched.zone).time()
        local_close = slot.closes.astimezone(sched.zone).time()
        assert time(7) <= local_due and local_close <= time(22)


def test_without_quiet_hours_the_layout_and_the_kept_draws_are_unchanged() -> None:
    """Firmware before quiet hours put slot i at start + i * width + room * draw."""
    sched = schedule(7, mode="windows", per_day=3, day_start="08:00", day_end="20:00",
                     grace_min=30)
    rng = random.Random(7)
    draws = [rng.random() for _ in range(3)]
    start, width = datetime(2026, 11, 24, 8, tzinfo=UTC), timedelta(hours=4)
    room = width - timedelta(minutes=30)
    expected = [(start + i * width + room * d).replace(microsecond=0)
                for i, d in enumerate(draws)]
    assert [s.due for s in sched.slots_on(DAY)] == expected
    plain = CheckinSettings(mode="windows", per_day=3)
    assert Schedule(plain, random.Random(0)).fingerprint == Schedule(
        CheckinSettings(mode="windows", per_day=3, quiet_start="", per_week=0),
        random.Random(0)).fingerprint
    quiet = CheckinSettings(mode="windows", per_day=3, quiet_start="12:00", quiet_end="13:00")
    assert Schedule(quiet, random.Random(0)).fingerprint != Schedule(
        plain, random.Random(0)).fingerprint  # a change of quiet hours redraws


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
@pytest.mark.parametrize("seed", range(15))
def test_quiet_hours_hold_on_both_dst_days(day: date, seed: int) -> None:
    # The quiet night 01:00-05:00 holds the DST change; the windows are around it.
    sched = schedule(seed, mode="windows", per_day=2, day_start="00:00", day_end="08:00",
                     quiet_start="01:00", quiet_end="05:00", grace_min=15,
                     timezone="Europe/Zurich")
    slots = sched.slots_on(day)
    assert len(slots) == 2
    assert_clear_of_quiet(sched, slots, day)
    # Local 00:00-01:00 is one real hour, 05:00-08:00 three; both DST days alike.
    first_hour = local_instant(day, time(1), sched.zone) - local_instant(day, time(0),
                                                                          sched.zone)
    assert first_hour == timedelta(hours=1)


@pytest.mark.parametrize(("settings", "message"), [
    ({"mode": "times", "times": ("09:00", "23:00"), "quiet_start": "22:00",
      "quiet_end": "07:00"}, "times 23:00 fall in the quiet hours"),
    ({"mode": "windows", "quiet_start": "22:00"}, "need both quiet_start and quiet_end"),
    ({"mode": "windows", "quiet_start": "12:00", "quiet_end": "12:00"}, "same time"),
    ({"mode": "windows", "quiet_start": "noon", "quiet_end": "13:00"}, "quiet_start"),
    ({"mode": "windows", "per_day": 6, "day_start": "08:00", "day_end": "12:00",
      "quiet_start": "09:00", "quiet_end": "12:00"}, "too little of the day"),
    ({"mode": "windows", "per_week": 10}, "per_week must be 0..9"),
])
def test_bad_quiet_hours_and_week_settings_say_what_to_fix(settings: dict[str, object],
                                                           message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        schedule(**settings)
    assert err.value.hint


def week_of(sched: Schedule, monday: date) -> list[Slot]:
    return [s for i in range(7) for s in sched.slots_on(monday + timedelta(days=i))]


@pytest.mark.parametrize("seed", range(20))
def test_per_week_spreads_the_weeks_check_ins_over_the_whole_week(seed: int) -> None:
    sched = schedule(seed, mode="windows", per_week=3, per_day=1, day_start="08:00",
                     day_end="20:00", quiet_start="12:00", quiet_end="13:00",
                     timezone="Europe/Zurich")
    slots = week_of(sched, MONDAY)
    assert len(slots) == 3 and slots == sched.period_slots(MONDAY)
    assert sched.period_of(DAY) == MONDAY and sched.period_of(MONDAY) == MONDAY
    for slot in slots:
        local = slot.due.astimezone(sched.zone)
        assert local.date() - MONDAY < timedelta(days=7)
        assert not time(12) <= local.time() < time(13)
    for i in range(7):
        assert_clear_of_quiet(sched, sched.slots_on(MONDAY + timedelta(days=i)),
                              MONDAY + timedelta(days=i))
    next_week = week_of(sched, MONDAY + timedelta(days=7))
    assert len(next_week) == 3 and next_week != slots


@pytest.mark.parametrize("sunday", [SPRING, AUTUMN])
def test_a_week_across_a_dst_change_keeps_its_check_ins(tmp_path: Path, sunday: date) -> None:
    monday = sunday - timedelta(days=6)
    assert monday.weekday() == 0
    settings = {"mode": "windows", "per_week": 5, "day_start": "00:00", "day_end": "08:00",
                "quiet_start": "01:00", "quiet_end": "05:00", "timezone": "Europe/Zurich"}
    sched = schedule(4, tmp_path / BOOK_FILE, **settings)
    slots = week_of(sched, monday)
    assert len(slots) == 5
    for i in range(7):
        day = monday + timedelta(days=i)
        assert_clear_of_quiet(sched, sched.slots_on(day), day)
    again = schedule(99, tmp_path / BOOK_FILE, **settings)  # a restart: kept, not redrawn
    assert week_of(again, monday) == slots


WEEKLY = CheckinSettings(mode="windows", per_week=4, timezone="Europe/Zurich",
                         quiet_start="12:00", quiet_end="14:00")


def test_a_week_is_drawn_once_and_published_once_as_one_signed_event(store, tmp_path) -> None:
    clock = ManualClock(wall=datetime(2026, 11, 24, 7, 0, tzinfo=UTC), mono=1000.0)
    worker = boot(store, clock, tmp_path, WEEKLY)
    worker.step(None)
    clock.advance(86400)  # Wednesday: the same week, nothing new to publish
    worker.step(None)
    restarted = boot(store, clock, tmp_path, WEEKLY)
    restarted.step(None)
    published = events(store, "schedule")
    assert [p["day"] for p in published] == ["2026-11-23"]
    slots = worker.tracker.schedule.period_slots(MONDAY)
    assert restarted.tracker.schedule.period_slots(MONDAY) == slots
    zone = worker.tracker.schedule.zone
    assert published[0] == {
        "day": "2026-11-23", "mode": "windows", "timezone": "Europe/Zurich", "slots": 4,
        "period": "week", "quiet": "12:00-14:00",
        "due": ",".join(s.due.astimezone(zone).isoformat() for s in slots)}
    clock.advance(5 * 86400)  # Monday: the next week is published when it comes near
    restarted.step(None)
    assert [p["day"] for p in events(store, "schedule")] == ["2026-11-23", "2026-11-30"]


def test_config_check_names_a_bad_quiet_hour_and_a_time_inside_them() -> None:
    problems = config.validate_mapping(
        {"checkin": {"quiet_start": "25:99", "quiet_end": "07:00"}}, "t.toml").problems
    assert [p.where for p in problems if "quiet" in p.where] == ["checkin.quiet_start"]
    problems = config.validate_mapping({"checkin": {
        "mode": "times", "times": ["06:30"], "quiet_start": "22:00", "quiet_end": "07:00"}},
        "t.toml").problems
    assert any("06:30 fall in the quiet hours" in str(p) for p in problems)
