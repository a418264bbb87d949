"""The restart budget (N restarts a window) and the event pump's order and isolation."""

from datetime import UTC, datetime

from fieldcheck_protocol.clock import ManualClock
from firmware.core.supervisor_event import TamperEvent
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
