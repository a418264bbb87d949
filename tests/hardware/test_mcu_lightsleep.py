"""The MCU main loop lightsleeps while the Pi is off, with its watchdog fed and tamper live."""

import types
from pathlib import Path

import frame
import pytest


class Wire:
    """The Pi's end of the link: bytes in, bytes out."""

    def __init__(self, inbound: bytes = b"") -> None:
        self.inbound, self.outbound = inbound, bytearray()

    def read(self) -> bytes:
        data, self.inbound = self.inbound, b""
        return data

    def write(self, data: bytes) -> None:
        self.outbound += data


@pytest.fixture
def main(fake_machine: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    monkeypatch.chdir(tmp_path)  # reset.bin is written to the working directory
    import main as module

    monkeypatch.setattr(module, "time", types.SimpleNamespace(sleep_ms=lambda ms: None))
    return module


def asleep_board(main: types.ModuleType, wake_after_s: int) -> tuple[object, int]:
    """A board whose Pi asked for SHUTDOWN(1 s, ``wake_after_s``); returns it and the time."""
    request = frame.encode(frame.SHUTDOWN, 1, frame.pack(frame.SHUTDOWN, (1, wake_after_s)))
    wire = Wire(frame.encode(frame.HEARTBEAT, 1, b"") + request)
    main.machine.Pin.levels[main.PIN_STRAP] = 0  # strap loop closed: worn
    board = main.Board(wire, 0)
    wdt, now = main.machine.WDT(8000), 0
    while now < 1600:  # the halt delay, then the quiet time before the first lightsleep
        now += main.turn(board, wdt, now)
    return board, now


def test_the_loop_lightsleeps_only_while_the_pi_is_off(main: types.ModuleType) -> None:
    from tests.hardware import fake_machine as fm

    board = main.Board(Wire(), 0)
    wdt = fm.WDT(8000)
    assert [main.turn(board, wdt, now) for now in range(0, 1000, 10)] == [main.LOOP_MS] * 100
    assert fm.SLEEPS == []  # the Pi is powered: the link is polled at full rate
    board, now = asleep_board(main, wake_after_s=0)
    assert fm.Pin.levels[main.PIN_PI_ENABLE] == 0
    wdt = fm.WDT(8000)
    rests = [main.turn(board, wdt, now + i * main.SLEEP_POLL_MS) for i in range(5)]
    assert rests == [main.SLEEP_POLL_MS] * 5 and fm.SLEEPS[-5:] == rests
    assert wdt.feeds == 5  # fed at every poll: a sleep is far shorter than its timeout
    assert main.SLEEP_POLL_MS < 8000


def test_the_timed_wake_powers_the_pi_within_one_poll(main: types.ModuleType) -> None:
    from tests.hardware import fake_machine as fm

    board, now = asleep_board(main, wake_after_s=5)
    wdt = fm.WDT(8000)
    while fm.Pin.levels[main.PIN_PI_ENABLE] == 0:
        now += main.turn(board, wdt, now)
        assert now < 1000 + 5000 + main.SLEEP_POLL_MS + 10
    assert main.turn(board, wdt, now) == main.LOOP_MS  # awake Pi: fast polling again


def test_a_strap_edge_ends_the_sleep_and_wakes_the_pi(main: types.ModuleType) -> None:
    from tests.hardware import fake_machine as fm

    board, now = asleep_board(main, wake_after_s=0)
    wdt = fm.WDT(8000)
    now += main.turn(board, wdt, now)
    fm.edge(main.PIN_STRAP, 1)  # the strap loop opens during the lightsleep
    rests = []
    while fm.Pin.levels[main.PIN_PI_ENABLE] == 0 and len(rests) < 100:
        rests.append(main.turn(board, wdt, now))
        now += rests[-1]
    assert set(rests) == {main.LOOP_MS}  # debounced at full rate, no further lightsleep
    assert board.logic.strap.state is True and fm.Pin.levels[main.PIN_PI_ENABLE] == 1
