"""Plausibility filters for fixes, in the spirit of Traccar's FilterHandler; each flags a reason.

The filters never drop a fix: they return the reasons it should not be used, so the live path
can skip it and the inspect tool can show it with its flags.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from firmware.core.fix import Fix

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class PlausibilityPolicy:
    """Thresholds of the filters; ``build_date`` comes from ``firmware.version.BUILD_DATE``."""

    max_hdop: float = 5.0
    max_speed_mps: float = 300 / 3.6  # faster than any way a person on the ground travels
    jump_slack_m: float = 50.0  # position noise tolerated on top of the speed limit
    future_tolerance_s: float = 300.0
    build_date: date | None = None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class Plausibility:
    """Judges each fix against the policy and the last plausible fix before it."""

    def __init__(self, policy: PlausibilityPolicy | None = None) -> None:
        self.policy = policy or PlausibilityPolicy()
        self._future = timedelta(seconds=self.policy.future_tolerance_s)
        self._last_good: Fix | None = None
        self._last_key: tuple[object, ...] | None = None

    def check(self, fix: Fix, now: datetime) -> tuple[str, ...]:
        """Reasons against ``fix`` (empty when plausible); ``now`` is the system clock's UTC."""
        reasons: list[str] = []
        latitude, longitude = fix.latitude, fix.longitude
        if not fix.valid:
            reasons.append("invalid")
        elif latitude is None or longitude is None:  # not fix.has_position
            reasons.append("no_position")
        if latitude == 0.0 and longitude == 0.0:
            reasons.append("zero_position")
        key = (fix.utc, fix.time_key)  # Traccar's rule: the same fix time again
        if fix.time_key is not None and key == self._last_key:
            reasons.append("duplicate")
        self._last_key = key
        if fix.hdop is not None and fix.hdop > self.policy.max_hdop:
            reasons.append("poor_hdop")
        if self._last_good is not None and self._jumped(fix):
            reasons.append("speed_jump")
        if fix.utc is not None:
            self._date_reasons(fix.utc, now, reasons)
        if not reasons:
            self._last_good = fix
            return ()
        return tuple(reasons)

    def _jumped(self, fix: Fix) -> bool:
        last = self._last_good
        if last is None or last.latitude is None or last.longitude is None:
            return False
        if fix.latitude is None or fix.longitude is None:
            return False
        if fix.utc is not None and last.utc is not None:
            elapsed = (fix.utc - last.utc).total_seconds()
        else:
            elapsed = fix.received_mono - last.received_mono
        if elapsed <= 0:
            return False
        moved = distance_m(last.latitude, last.longitude, fix.latitude, fix.longitude)
        return moved > self.policy.max_speed_mps * elapsed + self.policy.jump_slack_m

    def _date_reasons(self, utc: datetime, now: datetime, reasons: list[str]) -> None:
        """Add the reasons against a fix dated ``utc`` (future, before the build)."""
        build = self.policy.build_date
        # A Pi has no RTC: a system clock from before the build is unset, not a reference.
        clock_trusted = build is None or now.date() >= build
        if clock_trusted and utc > now + self._future:
            reasons.append("future_date")
        if build is not None and utc.date() < build:
            reasons.append("before_build")
