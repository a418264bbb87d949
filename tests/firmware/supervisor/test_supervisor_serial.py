"""The serial supervisor backend through a real pty, against the MCU logic from hardware/mcu."""

import logging
import os
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import watchdog

from firmware.core.supervisor_event import LinkEvent, ResetEvent, ResetReason, TamperEvent
from firmware.errors import ConfigError, SupervisorError
from firmware.supervisor.backends import serial as backend
from tests.firmware.supervisor.sv_collector import Collector
from tests.hardware.mcu_emulator import McuEmulator


@dataclass
class Bench:
    """A started serial backend wired to an emulated MCU."""

    link: backend.SerialSupervisor
    mcu: McuEmulator
    events: Collector


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check`` until it holds or ``timeout`` passes (a liveness bound, not a speed test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


FAST: dict[str, Any] = {
    "heartbeat_s": 0.1, "link_timeout_s": 0.6, "retransmit_s": 0.2, "reopen_s": 0.1
}


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo or newline translation before pyserial takes the port over
    mcu = McuEmulator(master, str(tmp_path / "reset.bin"))
    events = Collector()
    config = backend.Config(port=os.ttyname(slave), watchdog_s=60, **FAST)
    link = backend.create(config, on_event=events)
    mcu.start()
    link.start()
    try:
        yield Bench(link, mcu, events)
    finally:
        link.stop()
        mcu.stop()
        os.close(slave)
        os.close(master)


def test_link_comes_up_config_is_pushed_and_the_boot_reason_arrives(bench: Bench) -> None:
    assert bench.events.wait_for(lambda e: isinstance(e, LinkEvent) and e.up)
    assert bench.events.wait_for(lambda e: isinstance(e, ResetEvent))
    (reset,) = bench.events.of(ResetEvent)
    assert isinstance(reset, ResetEvent) and reset.reason is ResetReason.POWER_ON
    assert bench.link.link_up
    with bench.mcu.lock:
        # SET_CONFIG reached the MCU logic and was applied.
        assert bench.mcu.logic.watchdog.timeout_ms == 60_000
        assert bench.mcu.logic.watchdog.state == watchdog.RUNNING


def test_a_strap_tamper_is_delivered_exactly_once(bench: Bench) -> None:
    assert bench.events.wait_for(lambda e: isinstance(e, ResetEvent))
    bench.mcu.strap_open = True
    assert bench.events.wait_for(lambda e: isinstance(e, TamperEvent))
    bench.mcu.strap_open = False
    assert bench.events.wait_for(lambda e: isinstance(e, TamperEvent) and not e.strap_open)
    tampers = bench.events.of(TamperEvent)
    assert [t.strap_open for t in tampers if isinstance(t, TamperEvent)] == [True, False]


def test_silence_from_the_mcu_is_reported_as_link_lost_then_regained(bench: Bench) -> None:
    assert bench.events.wait_for(lambda e: isinstance(e, LinkEvent) and e.up)
    bench.mcu.silent = True
    assert bench.events.wait_for(lambda e: isinstance(e, LinkEvent) and not e.up)
    assert not bench.link.link_up
    bench.mcu.silent = False

    def ups() -> list[bool]:
        return [e.up for e in bench.events.of(LinkEvent) if isinstance(e, LinkEvent)]

    assert eventually(lambda: ups() == [True, False, True])


def test_shutdown_request_reaches_the_mcu_watchdog(bench: Bench) -> None:
    assert bench.events.wait_for(lambda e: isinstance(e, LinkEvent) and e.up)
    bench.link.request_shutdown(30, 600)
    with pytest.raises(SupervisorError, match="out of range"):
        bench.link.request_shutdown(30, 10**7)
    assert eventually(lambda: bench.mcu.logic.watchdog.state == watchdog.STOPPING)
    assert bench.mcu.logic.watchdog.wake_after_ms == 600_000


def test_a_missing_port_is_logged_once_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = Collector()
    config = backend.Config(port=str(tmp_path / "no-such-tty"), **FAST)
    link = backend.create(config, on_event=events)
    with caplog.at_level(logging.WARNING, logger="firmware.supervisor.backends.serial"):
        link.start()
        assert eventually(lambda: len(caplog.records) >= 1)
        assert not events.wait_for(lambda e: True, timeout=0.5)  # several reopen attempts pass
        link.stop()
    assert len(caplog.records) == 1
    assert "dialout" in caplog.records[0].getMessage()
    assert not link.link_up


@pytest.mark.parametrize(
    "overrides",
    [{"watchdog_s": 10}, {"low_battery_percent": 90}, {"heartbeat_s": 60.0, "watchdog_s": 120}],
)
def test_values_the_mcu_would_refuse_fail_at_creation(overrides: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        backend.create(backend.Config(**overrides), on_event=Collector())  # type: ignore[arg-type]


def test_flush_returns_once_the_mcu_acknowledged_the_shutdown(bench: Bench) -> None:
    assert bench.events.wait_for(lambda e: isinstance(e, LinkEvent) and e.up)
    bench.link.request_shutdown(30, 1200)
    assert bench.link.flush(10.0)  # acknowledged: the MCU holds the wake time now
    assert bench.mcu.logic.watchdog.state == watchdog.STOPPING
    assert bench.mcu.logic.watchdog.wake_after_ms == 1_200_000


def test_flush_gives_up_when_the_link_is_down(tmp_path: Path) -> None:
    link = backend.create(backend.Config(port=str(tmp_path / "no-such-tty"), **FAST),
                          on_event=lambda event: None)
    link.request_shutdown(30, 1200)
    assert link.flush(0.2) is False  # never started: nothing can carry the request
