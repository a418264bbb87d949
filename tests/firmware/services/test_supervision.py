"""The restart budget (N restarts a window) and the event pump's order and isolation."""

import threading
import time
from datetime import UTC, datetime

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.core.supervisor_event import TamperEvent
from firmware.errors import StoreError
from firmware.services.supervision import EventPump, RestartBudget


def test_the_budget_allows_n_restarts_a_window_then_refuses(clock: ManualClock) -> None:
    budget = RestartBudget(clock, max_restarts=3, window_s=60.0)
    assert [budget.allow() for _ in range(4)] == [True, True, True, False]
    clock.advance(30)
    assert not budget.allow()  # the three are still inside the window
    clock.advance(31)
    assert budget.allow()  # the first restarts aged out of the window


def test_refused_attempts_do_not_extend_the_window(clock: ManualClock) -> None:
    budget = RestartBudget(clock, max_restarts=1, window_s=10.0)
    assert budget.allow()
    for _ in range(5):
        clock.advance(1)
        assert not budget.allow()
    clock.advance(6)
    assert budget.allow()


def event(n: int) -> TamperEvent:
    return TamperEvent(datetime(2026, 11, 24, tzinfo=UTC), strap_open=bool(n % 2),
                       mcu_uptime_ms=n)


def test_the_pump_delivers_in_order_and_a_failing_consumer_does_not_stop_it() -> None:
    seen: list[int] = []

    def broken(ev: TamperEvent) -> None:
        raise RuntimeError("consumer bug")

    pump = EventPump([broken, lambda ev: seen.append(ev.mcu_uptime_ms)])
    pump.start()
    for n in range(50):
        pump.put(event(n))
    pump.stop()
    assert seen == list(range(50))


def test_a_full_queue_drops_and_counts_instead_of_blocking_the_link() -> None:
    pump = EventPump([lambda ev: None], maxsize=2)  # not started: nothing drains
    for n in range(5):
        pump.put(event(n))
    assert pump.pending() == 2 and pump.dropped == 3


def test_events_dropped_from_a_full_queue_become_a_report_not_only_a_log_line() -> None:
    reports: list[tuple[int, str]] = []
    release = threading.Event()
    seen: list[int] = []

    def slow(ev: TamperEvent) -> None:
        release.wait(timeout=10)
        seen.append(ev.mcu_uptime_ms)

    pump = EventPump([slow], maxsize=2, on_dropped=lambda n, kinds: reports.append((n, kinds)))
    pump.start()
    pump.put(event(0))  # taken by the pump thread, which blocks in the consumer
    deadline = time.monotonic() + 10
    while pump.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in range(1, 6):
        pump.put(event(n))  # 1 and 2 fit, 3..5 are dropped
    assert pump.dropped == 3 and reports == []  # nothing written on the link's thread
    release.set()
    deadline = time.monotonic() + 10
    while not reports and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reports == [(3, "TamperEvent:3")]  # reported by the pump once it has room
    pump.put(event(6))
    pump.stop()
    assert seen == [0, 1, 2, 6] and reports == [(3, "TamperEvent:3")]


def test_drops_after_the_last_delivery_are_reported_when_the_pump_stops() -> None:
    reports: list[tuple[int, str]] = []
    pump = EventPump([lambda ev: None], maxsize=1, on_dropped=lambda n, k: reports.append((n, k)))
    for n in range(3):  # not started: nothing drains
        pump.put(event(n))
    pump.start()
    pump.stop()
    assert reports == [(2, "TamperEvent:2")]


def test_a_drop_report_that_cannot_be_written_is_logged_and_the_pump_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    def full_disk(count: int, kinds: str) -> None:
        raise StoreError("database or disk is full")

    pump = EventPump([lambda ev: None], maxsize=1, on_dropped=full_disk)
    pump.put(event(0))
    pump.put(event(1))
    assert pump.report_dropped() == 1
    assert "1 dropped supervisor event(s) (TamperEvent:1) could not be written" in caplog.text
    assert pump.report_dropped() == 0
