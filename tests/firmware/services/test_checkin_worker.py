"""The check-in worker: scheduled prompts, button presses, missed windows, its thread."""

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware.app.wiring import build_checkin, template_store_for
from firmware.core.supervisor_event import ButtonEvent, ButtonPress
from firmware.errors import StoreError
from firmware.services.checkin import CheckinService
from firmware.services.checkin_worker import CheckinWorker
from firmware.services.schedule import CheckinSettings, Schedule, ScheduleTracker
from tests.firmware.services.checkin_fakes import (
    MATCH,
    FixedTemplates,
    ScriptedCamera,
    ScriptedEngine,
    a_template,
    ledger_for,
)

START = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
SETTINGS = CheckinSettings(mode="times", times=("09:00", "13:00"), early_min=10, grace_min=15)


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(wall=START, mono=1000.0)


class Shown:
    """A recording prompter: what the wearer was shown of the flow, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []

    def reminder(self, due) -> None:
        self.items.append(("reminder", due))

    def prompt(self, closes, first=True) -> None:
        self.items.append(("prompt" if first else "countdown", closes))

    def capturing(self) -> None:
        self.items.append(("capturing", None))

    def observe(self, kind, fields) -> None:
        if kind == "schedule":
            self.items.append(("next", fields["next_due"]))

    def flow(self) -> list[str]:
        return [kind for kind, _ in self.items if kind != "next"]


def worker_for(store, clock, verdicts=(MATCH,) * 5, sleep=lambda s: None,
               settings=SETTINGS, feedback=None) -> CheckinWorker:
    recorder = ledger_for(store, clock)
    camera, engine = ScriptedCamera([]), ScriptedEngine(list(verdicts))
    service = CheckinService(camera, engine, FixedTemplates(a_template()), recorder,
                             settings, sleep=sleep, clock=clock)
    tracker = ScheduleTracker(Schedule(settings, random.Random(0)), clock.now())
    return CheckinWorker(service, tracker, recorder, clock, parts=(camera, engine),
                         feedback=feedback)


def press(worker: CheckinWorker, clock) -> None:
    worker.on_supervisor(ButtonEvent(received_at=clock.now(), press=ButtonPress.SHORT,
                                     duration_ms=120))


def bodies(store, schedules: bool = False) -> list[tuple[str, dict]]:
    """Kind and body of every record; ``schedule`` events only when asked for."""
    return [(r.kind.value, r.body) for r in map(unverified_record,
                                                 (s.cose for s in store.records()))
            if schedules or r.body.get("type") != "schedule"]


def test_reminder_then_prompt_and_nothing_captured_until_the_button(store, clock) -> None:
    shown = Shown()
    worker = worker_for(store, clock, feedback=shown)
    nine = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert worker.step(None) is None
    assert shown.items[-1] == ("next", nine.isoformat())
    assert worker.seconds_to_wait() == 60.0
    clock.advance(2 * 3600 - 5 * 60)  # 08:55: the reminder (reminder_min = 5)
    assert worker.step(None) is None and shown.flow() == ["reminder"]
    clock.advance(5 * 60)  # 09:00: the prompt, and no capture
    assert worker.step(None) is None and shown.flow() == ["reminder", "prompt"]
    assert worker.waiting is not None and worker.seconds_to_wait() <= 15.0
    assert worker.service._camera.bursts == [] and bodies(store) == []
    clock.advance(60)
    assert worker.step(None) is None and shown.flow()[-1] == "countdown"
    press(worker, clock)
    receipt = worker.step(worker._requests.get_nowait())
    assert receipt is not None and receipt.trigger == "scheduled" and worker.waiting is None
    assert shown.flow() == ["reminder", "prompt", "countdown", "capturing"]
    assert [(k, b["trigger"], b["slot"]) for k, b in bodies(store)] == [
        ("checkin", "scheduled", int(nine.timestamp() * 1000))]


def test_a_prompt_left_unanswered_captures_nothing_and_is_missed(store, clock) -> None:
    worker = worker_for(store, clock, feedback=Shown())
    clock.advance(2 * 3600)
    assert worker.step(None) is None
    clock.advance(16 * 60)  # past the close
    assert worker.step(None) is None and worker.waiting is None
    assert [(k, b["type"]) for k, b in bodies(store)] == [("event", "checkin_missed")]


def test_a_press_outside_any_window_is_an_on_request_check_in(store, clock) -> None:
    shown = Shown()
    worker = worker_for(store, clock, feedback=shown)
    clock.advance(3600)  # 08:00: no slot open
    press(worker, clock)
    receipt = worker.step(worker._requests.get_nowait())
    assert receipt is not None and receipt.trigger == "button"
    assert "slot" not in bodies(store)[0][1] and shown.flow() == ["capturing"]


def test_unattended_mode_captures_at_the_due_time_once(store, clock) -> None:
    worker = worker_for(store, clock, settings=replace(SETTINGS, wait_for_button=False))
    assert worker.step(None) is None
    assert worker.seconds_to_wait() == 60.0  # capped; 09:00 is two hours away
    clock.advance(2 * 3600)
    receipt = worker.step(None)
    assert receipt is not None and receipt.trigger == "scheduled"
    clock.advance(60)
    assert worker.step(None) is None
    clock.advance(20 * 60)  # past the slot's close: it was satisfied, nothing is missed
    assert worker.step(None) is None
    slot = int(datetime(2026, 11, 24, 9, 0, tzinfo=UTC).timestamp() * 1000)
    assert bodies(store) == [("checkin", {
        "verdict": "match", "trigger": "scheduled", "slot": slot, "score": 0.75,
        "detector_confidence": 0.93, "brightness": 120.0, "sharpness": 80.0,
        "face_px": 160.0})]


def test_a_window_without_check_in_becomes_one_missed_event(store, clock) -> None:
    worker = worker_for(store, clock)
    clock.advance(2 * 3600 + 15 * 60)  # 09:15: the 09:00 slot just closed, never prompted
    worker.step(None)
    clock.advance(60)
    worker.step(None)
    assert bodies(store) == [("event", {"type": "checkin_missed", "details": {
        "due": "2026-11-24T09:00:00+00:00", "closed": "2026-11-24T09:15:00+00:00",
        "reason": "no_checkin"}})]


def test_a_missed_event_that_fails_to_commit_is_written_on_the_next_turn(store, clock) -> None:
    worker = worker_for(store, clock)
    clock.advance(2 * 3600 + 15 * 60)
    real_append = store.append
    store.append = lambda *a, **k: (_ for _ in ()).throw(StoreError("disk full"))
    with pytest.raises(StoreError):
        worker.step(None)
    store.append = real_append
    clock.advance(60)
    worker.step(None)
    assert [body["type"] for _, body in bodies(store)] == ["checkin_missed"]


def test_a_button_press_checks_in_and_satisfies_the_open_slot(store, clock) -> None:
    worker = worker_for(store, clock)
    clock.advance(2 * 3600 - 5 * 60)  # 08:55, inside the early part of the 09:00 slot
    press = ButtonEvent(received_at=clock.now(), press=ButtonPress.SHORT, duration_ms=120)
    worker.on_supervisor(press)
    worker.on_supervisor(press)  # a second press while one waits is not queued up
    worker.on_supervisor(ButtonEvent(clock.now(), ButtonPress.LONG, 3000))
    assert worker.request("manual") is False
    receipt = worker.step(worker._requests.get_nowait())
    assert receipt is not None and receipt.trigger == "button"
    clock.advance(10 * 60)
    assert worker.step(None) is None  # 09:05: no prompt, the slot is already satisfied
    assert [kind for kind, _ in bodies(store)] == ["checkin"]


def test_the_thread_serves_requests_and_stops_promptly(store, clock) -> None:
    done = threading.Event()
    worker = worker_for(store, clock)
    original = worker.service.run

    def run_and_signal(trigger, slot=None):
        receipt = original(trigger, slot)
        done.set()
        return receipt

    worker.service.run = run_and_signal  # type: ignore[method-assign]
    worker.start()
    try:
        assert worker.alive
        assert worker.request("manual")
        assert done.wait(10)
    finally:
        worker.stop()
    assert not worker.alive
    assert [kind for kind, _ in bodies(store)] == [Kind.CHECKIN.value]


def test_build_checkin_wires_the_encrypted_template_of_the_data_dir(store, clock, tmp_path):
    settings = CheckinSettings(template_file=Path("face/t.fct"))
    templates = template_store_for(settings, tmp_path, "fc-dev")
    assert templates.path == tmp_path / "face" / "t.fct"
    assert templates.keys.key_file == tmp_path / "face-template.key"
    assert templates.keys.credential is None
    worker = build_checkin(ScriptedCamera([]), ScriptedEngine([]), settings, data_dir=tmp_path,
                           device_id=store.device_id, recorder=ledger_for(store, clock),
                           clock=clock)
    receipt = worker.step("manual")  # nobody enrolled yet
    assert receipt is not None and receipt.guidance == "not_enrolled"
    assert worker.tracker.next_wake(clock.now() + timedelta(days=1)) is None  # mode off
