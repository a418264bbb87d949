"""A signed set_policy applied at once where safe: the ledger now, the schedule from tomorrow."""

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.command import Command, CommandKind, public_key_bytes, sign_command
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware import config
from firmware.app.live_policy import LivePolicy
from firmware.services.command_state import CommandState
from firmware.services.commands import CommandService, set_policy_action
from firmware.services.schedule import CheckinSettings, Schedule, ScheduleTracker
from firmware.services.schedule_book import BOOK_FILE, ScheduleBook
from firmware.store.backends.sqlite import SqliteRecordStore
from tests.firmware.services.checkin_fakes import ledger_for, opened_store

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
TODAY, TOMORROW = date(2026, 11, 24), date(2026, 11, 25)
SERVER = Ed25519PrivateKey.from_private_bytes(b"\x42" * 32)
OLD = {"mode": "windows", "per_day": 3, "timezone": "Europe/Zurich"}


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[SqliteRecordStore]:
    yield from opened_store(tmp_path / "unit", ManualClock(wall=NOW, mono=1000.0))


def tracker_in(book_dir: Path, **settings: object) -> ScheduleTracker:
    sched = Schedule(CheckinSettings(**settings), random.Random(5),  # type: ignore[arg-type]
                     ScheduleBook(book_dir / BOOK_FILE))
    return ScheduleTracker(sched, NOW)


def events(store: SqliteRecordStore, kind: str) -> list[dict[str, object]]:
    records = [unverified_record(r.cose) for r in store.records()]
    return [dict(r.body["details"]) for r in records
            if r.kind is Kind.EVENT and r.body["type"] == kind]


def publish(tracker: ScheduleTracker) -> list[date]:
    days = []
    for day, slots in tracker.unpublished(NOW):
        tracker.published(day, slots)
        days.append(day)
    return days


def test_set_policy_applies_now_and_the_schedule_from_the_next_day(
        store: SqliteRecordStore, tmp_path: Path) -> None:
    clock = ManualClock(wall=NOW, mono=1000.0)
    ledger = ledger_for(store, clock)
    tracker = tracker_in(tmp_path, **OLD)
    assert publish(tracker) == [TODAY, TOMORROW]
    today_before = tracker.schedule.slots_on(TODAY)
    new_settings = {"checkin": {**OLD, "per_day": 5}, "policy": {"location_interval_s": 30.0},
                    "camera": {"type": "replay", "folder": str(tmp_path)}}
    live = LivePolicy(lambda: config.from_mapping(new_settings, "t.toml"), ledger, tracker,
                      clock)
    action = set_policy_action(tmp_path, ("checkin.per_day", "policy.location_interval_s",
                                          "policy.sync_interval_s"),
                               lambda changes: [], ledger, live)
    service = CommandService(public_key_bytes(SERVER), ledger.device_id, CommandState(tmp_path),
                             ledger, clock, {CommandKind.SET_POLICY: action})
    command = Command("p1", ledger.device_id, 1, NOW, NOW + timedelta(hours=1),
                      CommandKind.SET_POLICY, {"changes": {
                          "checkin.per_day": 5, "policy.location_interval_s": 30.0,
                          "policy.sync_interval_s": 5.0}})
    (answer,) = service.handle([sign_command(command, SERVER)])
    assert answer.reason.value == "ok"
    assert ledger.policy.location_interval_s == 30.0  # the next fix follows it
    assert tracker.schedule.slots_on(TODAY) == today_before  # today's promise stands
    assert len(tracker.schedule.slots_on(TOMORROW)) == 5  # drawn under the new settings
    assert tracker.unpublished(NOW) == [(TOMORROW, tracker.schedule.slots_on(TOMORROW))]
    for kind in ("config_change", "command"):  # the change and the command's answer say so
        (details,) = events(store, kind)
        assert details["applies"] == "now_and_next_start"
        assert details["schedule_from"] == "2026-11-25"
        assert details["next_start"] == "policy.sync_interval_s"

    # A restart (the next duty-cycled wake) reads the new settings: today still stands.
    restarted = tracker_in(tmp_path, **{**OLD, "per_day": 5})
    assert restarted.schedule.slots_on(TODAY) == today_before
    assert [day for day, _ in restarted.unpublished(NOW)] == [TOMORROW]


def test_a_change_of_keys_not_safe_now_applies_at_the_next_start(
        store: SqliteRecordStore, tmp_path: Path) -> None:
    clock = ManualClock(wall=NOW, mono=1000.0)
    ledger = ledger_for(store, clock)
    calls: list[int] = []

    def reload() -> config.DeviceConfig | None:
        calls.append(1)
        return None

    live = LivePolicy(reload, ledger, None, clock)
    assert live({"policy.sync_interval_s": 5.0}) == {"applies": "next_start"}
    assert live({"checkin.per_day": 4}) == {"applies": "next_start"}  # no check-ins running
    assert calls == []  # nothing to apply now: the config is not even re-read
    before = ledger.policy
    assert live({"policy.location_interval_s": 9.0}) == {"applies": "next_start"}  # unusable
    assert ledger.policy == before


def test_a_weekly_schedule_changed_on_its_monday_keeps_monday_and_publishes_the_week_again(
        tmp_path: Path) -> None:
    monday = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    weekly = {"mode": "windows", "per_week": 3, "timezone": "Europe/Zurich"}
    sched = Schedule(CheckinSettings(**weekly), random.Random(5),  # type: ignore[arg-type]
                     ScheduleBook(tmp_path / BOOK_FILE))
    tracker = ScheduleTracker(sched, monday)
    for day, slots in tracker.unpublished(monday):
        tracker.published(day, slots)
    kept = tracker.schedule.slots_on(monday.date())
    tracker.change_settings(CheckinSettings(**{**weekly, "per_week": 6}),  # type: ignore[arg-type]
                            monday)
    assert tracker.schedule.slots_on(monday.date()) == kept
    ((first, slots),) = tracker.unpublished(monday)  # the week, under the new settings
    assert first == monday.date() and slots[:len(kept)] == kept
    tracker.published(first, slots)
    restarted = Schedule(CheckinSettings(**{**weekly, "per_week": 6}),  # type: ignore[arg-type]
                         random.Random(1), ScheduleBook(tmp_path / BOOK_FILE))
    assert restarted.slots_on(monday.date()) == kept  # a restart keeps Monday as it was
    assert restarted.period_slots(monday.date()) == slots
    assert ScheduleTracker(restarted, monday).unpublished(monday) == []
