"""Typed events from the supervisor MCU (tamper, battery, button, power, reset reason, link)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from firmware.core.mcu_frame import Message, MsgType

# BATTERY flags and HEARTBEAT_ACK status flags (PROTOCOL.md).
BATTERY_LOW = 0x01
BATTERY_CRITICAL = 0x02
STATUS_STRAP_OPEN = 0x01
STATUS_EXTERNAL_POWER = 0x02


class ResetReason(IntEnum):
    """Why the Pi was last powered up, as recorded by the supervisor."""

    POWER_ON = 0
    WATCHDOG = 1
    REQUESTED = 2
    MCU_RESET = 3
    UNKNOWN = 255


class ButtonPress(IntEnum):
    """How the button was pressed."""

    SHORT = 1
    LONG = 2


@dataclass(frozen=True)
class TamperEvent:
    """The strap continuity loop opened (``strap_open``) or closed again."""

    received_at: datetime
    strap_open: bool
    mcu_uptime_ms: int


@dataclass(frozen=True)
class BatteryEvent:
    """A fuel-gauge reading."""

    received_at: datetime
    millivolts: int
    percent: int
    low: bool
    critical: bool


@dataclass(frozen=True)
class ButtonEvent:
    """A completed button press."""

    received_at: datetime
    press: ButtonPress
    duration_ms: int


@dataclass(frozen=True)
class PowerEvent:
    """External (charging) power was connected or removed."""

    received_at: datetime
    external: bool


@dataclass(frozen=True)
class ResetEvent:
    """Why this boot happened; ``silence_ms`` is the heartbeat gap before a watchdog reset."""

    received_at: datetime
    reason: ResetReason
    silence_ms: int
    watchdog_resets: int


@dataclass(frozen=True)
class LinkEvent:
    """The link to the supervisor was lost (``up`` false) or regained."""

    received_at: datetime
    up: bool
    detail: str


SupervisorEvent = TamperEvent | BatteryEvent | ButtonEvent | PowerEvent | ResetEvent | LinkEvent
EventCallback = Callable[[SupervisorEvent], None]


def _tamper(m: Message, at: datetime) -> SupervisorEvent:
    return TamperEvent(at, bool(m.fields["open"]), m.fields["uptime_ms"])


def _battery(m: Message, at: datetime) -> SupervisorEvent:
    flags = m.fields["flags"]
    return BatteryEvent(
        at,
        m.fields["millivolts"],
        m.fields["percent"],
        bool(flags & BATTERY_LOW),
        bool(flags & BATTERY_CRITICAL),
    )


def _button(m: Message, at: datetime) -> SupervisorEvent:
    press = ButtonPress.LONG if m.fields["press"] == ButtonPress.LONG else ButtonPress.SHORT
    return ButtonEvent(at, press, m.fields["duration_ms"])


def _power(m: Message, at: datetime) -> SupervisorEvent:
    return PowerEvent(at, bool(m.fields["external"]))


def _reset(m: Message, at: datetime) -> SupervisorEvent:
    code = m.fields["reason"]
    known = {r.value for r in ResetReason}
    reason = ResetReason(code) if code in known else ResetReason.UNKNOWN
    return ResetEvent(at, reason, m.fields["silence_ms"], m.fields["count"])


_CONVERTERS: dict[MsgType, Callable[[Message, datetime], SupervisorEvent]] = {
    MsgType.TAMPER: _tamper,
    MsgType.BATTERY: _battery,
    MsgType.BUTTON: _button,
    MsgType.POWER: _power,
    MsgType.RESET_REASON: _reset,
}


def event_from_message(message: Message, received_at: datetime) -> SupervisorEvent | None:
    """The event a decoded MCU message stands for, or ``None`` for link-level messages."""
    convert = _CONVERTERS.get(message.kind)
    return convert(message, received_at) if convert else None
