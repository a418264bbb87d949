"""The schedule kept across restarts: drawn once, published once, misses while off, DST days."""

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.signature import unverified_record
from firmware.app.wiring import build_checkin
from firmware.errors import ConfigError
from firmware.services.checkin_worker import CheckinWorker
from firmware.services.schedule import CheckinSettings, Schedule, ScheduleTracker
from firmware.services.schedule_book import BOOK_FILE, ScheduleBook
from tests.firmware.services.checkin_fakes import (
    MATCH,
    ScriptedCamera,
    ScriptedEngine,
    ledger_for,
)

START = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
WINDOWS = CheckinSettings(mode="windows", per_day=3, timezone="Europe/Zurich")
TIMES = CheckinSettings(mode="times", times=("09:00", "13:00"), early_min=10, grace_min=15,
                        wait_for_button=False)


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(wall=START, mono=1000.0)


def boot(store, clock, tmp_path: Path, settings: CheckinSettings = WINDOWS) -> CheckinWorker:
    """A check-in worker as the daemon builds it at a start (system randomness, data dir)."""
    # Nobody is enrolled: each check-in records not_enrolled, which still satisfies its slot.
    return build_checkin(ScriptedCamera([]), ScriptedEngine([MATCH] * 3), settings,
                         data_dir=tmp_path, device_id=store.device_id,
                         recorder=ledger_for(store, clock), clock=clock)


def events(store, kind: str) -> list[dict]:
    records = map(unverified_record, (s.cose for s in store.records()))
    return [dict(r.body["details"]) for r in records if r.body.get("type") == kind]


def test_a_restart_keeps_the_days_random_windows(store, clock, tmp_path) -> None:
    day = date(2026, 11, 24)
    first = boot(store, clock, tmp_path).tracker.schedule.slots_on(day)
    second = boot(store, clock, tmp_path).tracker.schedule.slots_on(day)
    assert first == second  # two restarts used to draw two different sets of windows
    assert (tmp_path / BOOK_FILE).stat().st_mode & 0o777 == 0o600


def test_each_day_is_published_once_as_a_signed_schedule_event(store, clock, tmp_path) -> None:
    worker = boot(store, clock, tmp_path)
    worker.step(None)
    worker.step(None)
    boot(store, clock, tmp_path).step(None)  # a restart publishes nothing new
    published = events(store, "schedule")
    assert [p["day"] for p in published] == ["2026-11-24", "2026-11-25"]
    slots = worker.tracker.schedule.slots_on(date(2026, 11, 24))
    assert published[0] == {
        "day": "2026-11-24", "mode": "windows", "timezone": "Europe/Zurich", "slots": 3,
        "due": ",".join(s.due.astimezone(worker.tracker.schedule.zone).isoformat()[11:]
                        for s in slots)}
    assert published[0]["due"].count("+01:00") == 3  # local times, each with its offset


def test_slots_that_closed_while_the_unit_was_off_are_missed_unit_off(
        store, clock, tmp_path) -> None:
    boot(store, clock, tmp_path, TIMES).step(None)  # 07:00: published, awake
    clock.advance(7 * 3600)  # off until 14:00: 09:00 and 13:00 closed meanwhile
    worker = boot(store, clock, tmp_path, TIMES)
    worker.step(None)
    missed = events(store, "checkin_missed")
    assert missed == [
        {"due": "2026-11-24T09:00:00+00:00", "closed": "2026-11-24T09:15:00+00:00",
         "reason": "unit_off"},
        {"due": "2026-11-24T13:00:00+00:00", "closed": "2026-11-24T13:15:00+00:00",
         "reason": "unit_off"}]
    worker.step(None)
    boot(store, clock, tmp_path, TIMES).step(None)  # recorded once, not at every boot
    assert len(events(store, "checkin_missed")) == 2


def test_a_slot_done_before_the_unit_went_off_is_not_missed(store, clock, tmp_path) -> None:
    worker = boot(store, clock, tmp_path, TIMES)
    worker.step(None)
    clock.advance(2 * 3600 + 60)  # 09:01: the prompt
    receipt = worker.step(None)
    assert receipt is not None and receipt.trigger == "scheduled"
    clock.advance(3600)  # off at 09:01, back at 10:01: the slot closed while off, but was done
    boot(store, clock, tmp_path, TIMES).step(None)
    assert events(store, "checkin_missed") == []


def test_the_first_start_reports_nothing_before_it(store, clock, tmp_path) -> None:
    clock.advance(7 * 3600)
    boot(store, clock, tmp_path, TIMES).step(None)
    assert events(store, "checkin_missed") == []
    assert [e["day"] for e in events(store, "schedule")] == ["2026-11-24", "2026-11-25"]


def test_changed_settings_redraw_and_publish_again(store, clock, tmp_path) -> None:
    boot(store, clock, tmp_path).step(None)
    changed = CheckinSettings(mode="windows", per_day=2, timezone="Europe/Zurich")
    worker = boot(store, clock, tmp_path, changed)
    worker.step(None)
    published = events(store, "schedule")
    assert [(p["day"], p["slots"]) for p in published] == [
        ("2026-11-24", 3), ("2026-11-25", 3), ("2026-11-24", 2), ("2026-11-25", 2)]


def test_an_unreadable_book_starts_afresh_and_says_so(store, clock, tmp_path, caplog) -> None:
    (tmp_path / BOOK_FILE).write_text("{not json")
    boot(store, clock, tmp_path).step(None)
    assert "unreadable" in caplog.text
    assert len(events(store, "schedule")) == 2
    assert json.loads((tmp_path / BOOK_FILE).read_text())["format"] == 1


def test_too_many_slots_a_day_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at most 16"):
        Schedule(CheckinSettings(mode="windows", per_day=17), random.Random(0))


ZURICH = {"timezone": "Europe/Zurich", "early_min": 0, "grace_min": 15}
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)  # 02:00->03:00 and 03:00->02:00


def times_on(day: date, *times: str) -> list[datetime]:
    sched = Schedule(CheckinSettings(mode="times", times=times, **ZURICH),  # type: ignore[arg-type]
                     random.Random(0))
    return [s.due for s in sched.slots_on(day)]


def test_fixed_times_keep_their_local_time_on_both_dst_days() -> None:
    assert times_on(SPRING - timedelta(days=1), "09:00") == [
        datetime(2026, 3, 28, 8, 0, tzinfo=UTC)]
    assert times_on(SPRING, "09:00") == [datetime(2026, 3, 29, 7, 0, tzinfo=UTC)]
    assert times_on(AUTUMN, "09:00") == [datetime(2026, 10, 25, 8, 0, tzinfo=UTC)]
    # 02:30 does not exist on the spring day: it lands after the gap (03:30 CEST).
    assert times_on(SPRING, "02:30") == [datetime(2026, 3, 29, 1, 30, tzinfo=UTC)]
    # 02:30 happens twice on the autumn day: the first one (CEST) counts, once.
    assert times_on(AUTUMN, "02:30") == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


@pytest.mark.parametrize(("day", "real_hours"), [(SPRING, 5), (AUTUMN, 7)])
def test_windows_across_a_dst_change_span_the_local_night(day: date, real_hours: int) -> None:
    settings = CheckinSettings(mode="windows", per_day=2, day_start="00:00", day_end="06:00",
                               **ZURICH)  # type: ignore[arg-type]
    sched = Schedule(settings, random.Random(3))
    start = datetime.combine(day, datetime.min.time(), tzinfo=sched.zone).astimezone(UTC)
    end = start + timedelta(hours=real_hours)  # 00:00-06:00 local is 5 h or 7 h of real time
    assert datetime.combine(day, datetime.min.time().replace(hour=6),
                            tzinfo=sched.zone).astimezone(UTC) == end
    slots = sched.slots_on(day)
    assert len(slots) == 2
    middle = start + (end - start) / 2
    assert start <= slots[0].due and slots[0].closes <= middle
    assert middle <= slots[1].due and slots[1].closes <= end


def test_a_slot_on_the_dst_day_is_prompted_and_closes_on_time(tmp_path) -> None:
    settings = CheckinSettings(mode="times", times=("02:30",), **ZURICH)  # type: ignore[arg-type]
    sched = Schedule(settings, random.Random(0), ScheduleBook(tmp_path / "b"))
    tracker = ScheduleTracker(sched, datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    due = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert tracker.next_wake(datetime(2026, 3, 29, 0, 0, tzinfo=UTC)) == due
    assert tracker.prompt_due(due) is not None
    assert tracker.missed(due + timedelta(minutes=15)) == sched.slots_on(SPRING)
