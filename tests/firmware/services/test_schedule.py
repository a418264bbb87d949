"""The check-in schedule policy: slots in local time, random windows, prompts and missed slots."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from firmware.errors import ConfigError
from firmware.services.schedule import CheckinSettings, Schedule, ScheduleTracker, Slot

DAY = date(2026, 11, 24)
MIN = timedelta(minutes=1)


def schedule(seed: int = 1, **settings: object) -> Schedule:
    return Schedule(CheckinSettings(**settings), random.Random(seed))  # type: ignore[arg-type]


def test_fixed_times_are_local_and_span_early_to_grace() -> None:
    sched = schedule(mode="times", times=("19:00", "09:00"), timezone="Europe/Zurich",
                     early_min=10, grace_min=15)
    first, second = sched.slots_on(DAY)
    assert first.due == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 CET is 08:00 UTC
    assert second.due == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert (first.opens, first.closes) == (first.due - 10 * MIN, first.due + 15 * MIN)
    assert first.contains(first.opens) and not first.contains(first.closes)
    summer = sched.slots_on(date(2026, 7, 1))[0]
    assert summer.due == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # CEST is UTC+2


def test_windows_put_one_random_prompt_in_each_part_of_the_day() -> None:
    sched = schedule(mode="windows", per_day=4, day_start="08:00", day_end="20:00",
                     grace_min=30)
    slots = sched.slots_on(DAY)
    assert len(slots) == 4
    start = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    for i, slot in enumerate(slots):
        window_start, window_end = start + i * 180 * MIN, start + (i + 1) * 180 * MIN
        assert window_start <= slot.due and slot.closes <= window_end
    assert sched.slots_on(DAY) == slots  # drawn once per day, stable afterwards
    same = {"mode": "windows", "per_day": 4, "grace_min": 30}
    assert schedule(**same).slots_on(DAY) == slots  # same seed, same draws
    assert schedule(seed=2, **same).slots_on(DAY) != slots
    assert all(s.due.microsecond == 0 for s in slots)
    assert [s.due.time() for s in sched.slots_on(DAY + timedelta(days=1))] != [
        s.due.time() for s in slots]


def test_off_mode_has_no_slots_and_nothing_to_wake_for() -> None:
    tracker = ScheduleTracker(schedule(mode="off"), datetime(2026, 11, 24, tzinfo=UTC))
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert tracker.next_wake(now) is None and tracker.missed(now) == []
    assert tracker.prompt_due(now) is None and tracker.checked_in(now) is None


def make_tracker(start: datetime) -> tuple[ScheduleTracker, Slot]:
    tracker = ScheduleTracker(schedule(mode="times", times=("09:00",), early_min=10,
                                       grace_min=15), start)
    (slot,) = tracker.schedule.slots_on(DAY)
    return tracker, slot


def test_a_slot_is_prompted_once_and_a_check_in_inside_it_satisfies_it() -> None:
    tracker, slot = make_tracker(datetime(2026, 11, 24, 6, tzinfo=UTC))
    assert tracker.next_wake(slot.due - 60 * MIN) == slot.due
    assert tracker.prompt_due(slot.due - MIN) is None
    assert tracker.prompt_due(slot.due) == slot
    assert tracker.prompt_due(slot.due + MIN) is None  # not prompted again
    assert tracker.next_wake(slot.due + MIN) == slot.closes
    assert tracker.checked_in(slot.due + 2 * MIN) == slot
    assert tracker.missed(slot.closes + MIN) == []
    assert tracker.next_wake(slot.due + 3 * MIN) == slot.due + timedelta(days=1)


def test_an_early_button_check_in_counts_and_a_late_one_does_not() -> None:
    tracker, slot = make_tracker(datetime(2026, 11, 24, 6, tzinfo=UTC))
    assert tracker.checked_in(slot.opens) == slot
    assert tracker.prompt_due(slot.due) is None  # already done: no prompt
    other, later = make_tracker(datetime(2026, 11, 24, 6, tzinfo=UTC))
    assert other.checked_in(later.closes) is None
    assert other.missed(later.closes) == [later]


def test_a_missed_slot_is_reported_once_and_slots_before_start_never() -> None:
    tracker, slot = make_tracker(datetime(2026, 11, 24, 6, tzinfo=UTC))
    assert tracker.prompt_due(slot.due) == slot
    assert tracker.missed(slot.closes - MIN) == []
    assert tracker.missed(slot.closes) == [slot]
    assert tracker.missed(slot.closes + MIN) == [slot]  # until its event is committed
    tracker.reported(slot)
    assert tracker.missed(slot.closes + 60 * MIN) == []
    late_boot, _ = make_tracker(slot.closes + MIN)  # the unit was off through the slot
    assert late_boot.missed(slot.closes + 2 * MIN) == []


@pytest.mark.parametrize(("settings", "message"), [
    ({"mode": "times", "times": ("9h",)}, "'9h' is not a time"),
    ({"timezone": "Mars/Olympus"}, "timezone = 'Mars/Olympus' is unknown"),
    ({"mode": "windows", "day_start": "20:00", "day_end": "08:00"}, "day_start < day_end"),
    ({"mode": "windows", "per_day": 0}, "per_day >= 1"),
    ({"grace_min": 0.0}, "grace_min must be > 0"),
])
def test_bad_settings_are_config_errors_naming_the_setting(settings, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        schedule(**settings)
