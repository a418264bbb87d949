"""Turns what the device sees (GPS fixes and events, supervisor events) into signed records.

Policy lives here: a location record every ``location_interval_s`` while the fix is usable, an
event record for fix lost/regained, clock jumps, tamper, power, battery thresholds, watchdog
resets and supervisor link faults. The store signs and commits; this only decides what to write.
"""

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.record import FixSummary, Kind
from firmware.core.fix import EventKind, Fix, FixType, GpsEvent
from firmware.core.supervisor_event import (
    BatteryEvent,
    ButtonEvent,
    LinkEvent,
    PowerEvent,
    ResetEvent,
    ResetReason,
    SupervisorEvent,
    TamperEvent,
)
from firmware.store.base import Appended, RecordStore

logger = logging.getLogger(__name__)

#: Called with a report kind and fields for everything worth showing (bench demo, technicians).
Observer = Callable[[str, Mapping[str, Any]], None]


@dataclass(frozen=True)
class RecordPolicy:
    """How often and on what the recorder writes."""

    location_interval_s: float = 60.0
    clock_jump_s: float = 2.0  # a change of the GPS-minus-system offset larger than this
    fix_max_age_s: float = 30.0  # a check-in may carry a fix at most this old


def fix_summary(fix: Fix, now_mono: float) -> FixSummary | None:
    """The record's view of a usable fix (None when the fix has no usable position)."""
    if not fix.usable or fix.utc is None or fix.latitude is None or fix.longitude is None:
        return None
    return FixSummary(
        lat=fix.latitude,
        lon=fix.longitude,
        alt_m=fix.altitude_m,
        mode="3d" if fix.fix_type is FixType.THREE_D else "2d",
        hdop=fix.hdop,
        sats_used=fix.satellites_used,
        gps_time=fix.utc,
        age_s=max(0.0, round(now_mono - fix.received_mono, 3)),
    )


class Recorder:
    """Callbacks for the GPS watch and the supervisor; every decision becomes a signed record.

    Thread-safe: callbacks arrive on the GPS and supervisor threads; the store serialises writes.
    """

    def __init__(
        self,
        store: RecordStore,
        clock: Clock,
        policy: RecordPolicy | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy or RecordPolicy()
        self._observe = observer or (lambda kind, fields: None)
        self._lock = threading.Lock()
        self._last_fix: Fix | None = None
        self._last_location_mono: float | None = None
        self._last_offset: float | None = None
        self._battery_level: str | None = None

    def current_fix(self) -> tuple[FixSummary | None, datetime | None]:
        """The latest usable fix, if fresh enough for a check-in, and its GPS time."""
        with self._lock:
            fix = self._last_fix
        if fix is None:
            return None, None
        summary = fix_summary(fix, self._clock.monotonic())
        if summary is None or summary.age_s > self._policy.fix_max_age_s:
            return None, None
        return summary, fix.utc

    def boot(self, details: Mapping[str, Any]) -> Appended:
        """The first record of every start."""
        return self.event("boot", details)

    def event(self, kind: str, details: Mapping[str, Any], fix: Fix | None = None) -> Appended:
        """Write an ``event`` record of type ``kind`` with flat ``details``."""
        summary = fix_summary(fix, self._clock.monotonic()) if fix is not None else None
        gps_time = summary.gps_time if summary is not None else None
        if summary is None:
            summary, gps_time = self.current_fix()
        body = {"type": kind, "details": dict(details)}
        appended = self._store.append(Kind.EVENT, body, summary, gps_time)
        self._observe("record", {"kind": "event", "type": kind, "seq": appended.record.seq})
        self._observe("event", {"event": kind, "time": appended.record.device_time, **details})
        return appended

    def on_fix(self, fix: Fix) -> None:
        """GPS watch callback: remember usable fixes, write a location record when it is due."""
        now = self._clock.monotonic()
        if fix.usable:
            with self._lock:
                self._last_fix = fix
            self._observe("fix", _fix_fields(fix))
        elif fix.flags:
            self._observe("fix", _fix_fields(fix))
        self._check_clock(fix)
        summary = fix_summary(fix, now)
        due = (
            self._last_location_mono is None
            or now - self._last_location_mono >= self._policy.location_interval_s
        )
        if summary is not None and due:
            body = {"interval": int(self._policy.location_interval_s)}
            appended = self._store.append(Kind.LOCATION, body, summary, summary.gps_time)
            self._last_location_mono = now  # only once committed: a failed write retries
            self._observe("record", {"kind": "location", "seq": appended.record.seq})

    def on_gps_event(self, event: GpsEvent) -> None:
        """GPS watch callback: fix lost and regained become event records; all are observed."""
        self._observe("state", {
            "prev": event.previous.value,
            "state": event.current.value,
            "gps_time": event.fix.utc if event.fix is not None else None,
        })
        if event.kind is EventKind.FIX_LOST:
            self.event("fix_lost", {"state": event.current.value})
        elif event.kind in (EventKind.FIX_REGAINED, EventKind.FIX_ACQUIRED):
            # The first fix after boot is recorded too: time to first fix is evidence as well.
            first = event.kind is EventKind.FIX_ACQUIRED
            self.event("fix_regained", {"state": event.current.value, "first": first},
                       fix=event.fix)

    def on_supervisor(self, event: SupervisorEvent) -> None:
        """Supervisor callback: tamper, power, battery thresholds, resets and link faults."""
        match event:
            case TamperEvent():
                self.event("tamper", {"strap_open": event.strap_open,
                                      "mcu_uptime_ms": event.mcu_uptime_ms})
            case PowerEvent():
                self.event("power", {"external": event.external})
            case BatteryEvent():
                self._battery(event)
            case ResetEvent():
                if event.reason is ResetReason.WATCHDOG:
                    self.event("watchdog_reset", {"silence_ms": event.silence_ms,
                                                  "resets": event.watchdog_resets})
            case LinkEvent():
                if not event.up:
                    self.event("supervisor_fault", {"detail": event.detail[:120]})
            case ButtonEvent():
                self._observe("button", {"press": event.press.name.lower(),
                                         "duration_ms": event.duration_ms})

    def _battery(self, event: BatteryEvent) -> None:
        level = "critical" if event.critical else "low" if event.low else "ok"
        previous, self._battery_level = self._battery_level, level
        if level != previous and (previous is not None or level != "ok"):
            self.event("battery", {"level": level, "percent": event.percent,
                                   "millivolts": event.millivolts})

    def _check_clock(self, fix: Fix) -> None:
        offset = fix.clock_offset_s
        if offset is None or not fix.valid:
            return
        previous, self._last_offset = self._last_offset, offset
        if previous is not None and abs(offset - previous) > self._policy.clock_jump_s:
            logger.warning("system clock moved %.1f s against GPS time", previous - offset)
            self.event("clock_jump", {"offset_s": round(offset, 3),
                                      "previous_offset_s": round(previous, 3)})


def _fix_fields(fix: Fix) -> dict[str, Any]:
    return {
        "gps_time": fix.utc,
        "lat": fix.latitude,
        "lon": fix.longitude,
        "mode": fix.fix_type.value,
        "hdop": fix.hdop,
        "sats_used": fix.satellites_used,
        "flags": list(fix.flags),
    }
