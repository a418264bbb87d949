"""Simulated supervisor: scripted events on a timetable, for the bench demo and tests."""

import logging
import threading
from dataclasses import dataclass

from fieldcheck_protocol.clock import Clock, SystemClock
from firmware.core.mcu_frame import PAYLOADS, Message, MsgType
from firmware.core.settings import setting
from firmware.core.supervisor_event import EventCallback, LinkEvent, event_from_message
from firmware.errors import ConfigError
from firmware.supervisor.base import SupervisorLink

logger = logging.getLogger(__name__)

# Script names for the MCU-to-Pi messages that become events.
_SCRIPTABLE = {
    "tamper": MsgType.TAMPER,
    "battery": MsgType.BATTERY,
    "button": MsgType.BUTTON,
    "power": MsgType.POWER,
    "reset_reason": MsgType.RESET_REASON,
}


@dataclass(frozen=True)
class Config:
    """Settings of the simulated supervisor."""

    script: tuple[str, ...] = setting(
        (),
        "events as '<seconds after start> <message> [field=value ...]', e.g. '30 tamper open=1'; "
        "messages: tamper, battery, button, power, reset_reason (fields as in PROTOCOL.md, "
        "missing ones are 0), and 'link down' / 'link up'",
    )
    tick_s: float = setting(0.1, "how often the simulator checks for due events, seconds")


@dataclass(frozen=True)
class Step:
    """One scripted entry: a protocol message or a link change at ``at_s``."""

    at_s: float
    message: Message | None = None
    link_up: bool | None = None


def parse_script(lines: tuple[str, ...]) -> list[Step]:
    """Parse the script, sorted by time; a bad line is a ``ConfigError`` naming it."""
    return sorted((_parse_line(line) for line in lines), key=lambda step: step.at_s)


def _parse_line(line: str) -> Step:
    words = line.split()
    hint = "write e.g. '30 tamper open=1' or '60 link down'"
    try:
        at_s = float(words[0])
        name = words[1]
    except (IndexError, ValueError) as err:
        raise ConfigError(f"[supervisor] script line {line!r} is malformed", hint) from err
    if name == "link" and words[2:] in (["up"], ["down"]):
        return Step(at_s, link_up=words[2] == "up")
    if name not in _SCRIPTABLE:
        raise ConfigError(f"[supervisor] script line {line!r}: unknown message {name!r}", hint)
    kind = _SCRIPTABLE[name]
    fields = {field: 0 for field, _ in PAYLOADS[kind]}
    for pair in words[2:]:
        key, _, value = pair.partition("=")
        if key not in fields or not value.isdigit():
            raise ConfigError(
                f"[supervisor] script line {line!r}: bad field {pair!r}",
                f"{name} fields: {', '.join(fields)}",
            )
        fields[key] = int(value)
    return Step(at_s, message=Message(kind, 0, fields))


class SimSupervisor(SupervisorLink):
    """Plays the script relative to ``start()``; records heartbeats and shutdown requests."""

    describe = "simulated supervisor"
    cuts_power = False

    def __init__(self, config: Config, on_event: EventCallback, clock: Clock) -> None:
        super().__init__(on_event)
        self._config = config
        self._clock = clock
        self._steps = parse_script(config.script)
        self._next = 0
        self._started_at = 0.0
        self._up = True
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.shutdown_requests: list[tuple[int, int]] = []

    @property
    def link_up(self) -> bool:
        return self._up

    def request_shutdown(self, delay_s: int, wake_after_s: int) -> None:
        with self._lock:
            self.shutdown_requests.append((delay_s, wake_after_s))
        logger.info("simulated supervisor: power cut in %d s, wake after %d s", delay_s,
                    wake_after_s)

    def pump(self) -> int:
        """Deliver every scripted event now due; returns how many were delivered."""
        delivered = 0
        with self._lock:
            elapsed = self._clock.monotonic() - self._started_at
            while self._next < len(self._steps) and self._steps[self._next].at_s <= elapsed:
                step = self._steps[self._next]
                self._next += 1
                delivered += self._deliver(step)
        return delivered

    def _deliver(self, step: Step) -> int:
        if step.link_up is not None:
            self._up = step.link_up
            self._emit(LinkEvent(self._clock.now(), step.link_up, "scripted"))
            return 1
        if step.message is None:
            return 0
        event = event_from_message(step.message, self._clock.now())
        if event is None:
            return 0
        self._emit(event)
        return 1

    def _start(self) -> None:
        self._started_at = self._clock.monotonic()
        self._next = 0
        self._stop_event.clear()
        self._thread = threading.Thread(target=self._run, name="supervisor-sim", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop_event.wait(self._config.tick_s):
            self.pump()

    def _stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def create(config: Config, *, on_event: EventCallback, clock: Clock | None = None) -> SimSupervisor:
    """Build the simulated supervisor (not started)."""
    return SimSupervisor(config, on_event, clock or SystemClock())
