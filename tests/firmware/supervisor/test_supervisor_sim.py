"""The simulated supervisor backend: scripted events on an injected clock."""

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.config import resolve
from firmware.core.settings import SettingsError
from firmware.core.supervisor_event import (
    BatteryEvent,
    ButtonEvent,
    ButtonPress,
    LinkEvent,
    ResetEvent,
    ResetReason,
    TamperEvent,
)
from firmware.errors import ConfigError
from firmware.supervisor.backends import sim
from firmware.supervisor.registry import BACKENDS
from tests.firmware.supervisor.sv_collector import Collector


def build(script: tuple[str, ...]) -> tuple[sim.SimSupervisor, Collector, ManualClock]:
    clock = ManualClock()
    events = Collector()
    link = sim.create(sim.Config(script=script, tick_s=60.0), on_event=events, clock=clock)
    return link, events, clock


def test_scripted_events_arrive_at_their_time_in_order() -> None:
    link, events, clock = build(
        (
            "30 tamper open=1 uptime_ms=30000",
            "0 reset_reason reason=1 silence_ms=125000 count=2",
            "45 battery millivolts=3650 percent=12 flags=1",
            "50 button press=2 duration_ms=2500",
        )
    )
    link.start()
    try:
        assert link.pump() == 1
        assert events.events == [ResetEvent(clock.now(), ResetReason.WATCHDOG, 125000, 2)]
        clock.advance(29.9)
        assert link.pump() == 0
        clock.advance(0.1)
        assert link.pump() == 1
        assert events.of(TamperEvent) == [TamperEvent(clock.now(), True, 30000)]
        clock.advance(30)
        assert link.pump() == 2
        battery, button = events.events[-2:]
        assert isinstance(battery, BatteryEvent) and battery.low and not battery.critical
        assert button == ButtonEvent(clock.now(), ButtonPress.LONG, 2500)
    finally:
        link.stop()


def test_link_changes_are_scripted_too() -> None:
    link, events, clock = build(("5 link down", "9 link up"))
    link.start()
    clock.advance(6)
    link.pump()
    assert not link.link_up and events.events == [LinkEvent(clock.now(), False, "scripted")]
    clock.advance(6)
    link.pump()
    assert link.link_up
    link.stop()


def test_shutdown_requests_are_recorded() -> None:
    link, _, _ = build(())
    link.request_shutdown(20, 3600)
    assert link.shutdown_requests == [(20, 3600)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("soon tamper", "malformed"),
        ("5 explode", "unknown message"),
        ("5 tamper colour=3", "bad field"),
        ("5 battery percent=-1", "bad field"),
    ],
)
def test_bad_script_lines_are_config_errors(line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build((line,))


def test_a_failing_callback_does_not_stop_the_script() -> None:
    clock = ManualClock()
    seen: list[object] = []

    def handler(event: object) -> None:
        seen.append(event)
        raise RuntimeError("consumer bug")

    link = sim.create(
        sim.Config(script=("1 power external=1", "2 power external=0")),
        on_event=handler,
        clock=clock,
    )
    link.start()
    clock.advance(3)
    assert link.pump() == 2 and len(seen) == 2
    link.stop()


def test_registry_resolves_both_backends_with_their_configs() -> None:
    section = resolve(
        BACKENDS, {"type": "sim", "script": ["1 tamper open=1"]}, "supervisor", "serial"
    )
    assert section.config == sim.Config(script=("1 tamper open=1",))
    serial = resolve(BACKENDS, {}, "supervisor", default="serial")
    assert serial.config.port == "/dev/fieldcheck-mcu"
    with pytest.raises(SettingsError, match="not a known backend"):
        resolve(BACKENDS, {"type": "i2c"}, "supervisor", "serial")
