"""Wake sessions of a duty-cycled unit: when a wake's work is done, and when to wake next.

Under the ``duty_cycled`` power policy the Pi is powered only for short wakes. A wake ends
when it has settled (``min_awake_s``), nothing it waits for is still going (a check-in running
or asked for, no GPS fix yet; the upload is the final sync of every stop) and nothing is due
within the shortest sleep worth a boot. A check-in running is never cut short; the other waits
give up after ``max_awake_s``, so a unit out of coverage still sleeps. The daemon then asks the
supervisor MCU to cut power and wake the Pi ``wake_after_s`` later (PROTOCOL.md, SHUTDOWN): a
little before the next check-in slot, or after ``wake_interval_s`` for the next location record
and upload.

Pure policy on injected times; the daemon feeds it and carries the plan out.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

logger = logging.getLogger(__name__)

PowerPolicy = Literal["always_on", "duty_cycled"]
#: The supervisor's limit for the time to halt (PROTOCOL.md, SHUTDOWN ``delay_s``).
MAX_SHUTDOWN_DELAY_S = 600
#: The supervisor's limit for a timed wake (PROTOCOL.md, SHUTDOWN ``wake_after_s``).
MAX_WAKE_AFTER_S = 259200
#: Shorter sleeps than this cost more in boot energy than they save: stay awake instead.
MIN_SLEEP_S = 120
#: A wait that must never be cut short by ``max_awake_s``.
CHECKIN = "checkin"


@dataclass(frozen=True)
class SessionRules:
    """How long a wake lasts and how far apart wakes are (the ``[policy]`` power settings)."""

    wake_interval_s: float = 1800.0
    min_awake_s: float = 10.0
    max_awake_s: float = 180.0
    boot_lead_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_awake_s <= self.max_awake_s:
            raise ValueError("min_awake_s must be between 0 and max_awake_s")
        if self.wake_interval_s < MIN_SLEEP_S:
            raise ValueError(f"wake_interval_s must be at least {MIN_SLEEP_S} s")


@dataclass(frozen=True)
class WakePlan:
    """The end of a wake: sleep ``wake_after_s``, woken for ``reason``."""

    wake_after_s: int
    reason: str
    awake_s: float
    ttff_s: float | None
    waited_for: tuple[str, ...]

    def details(self) -> dict[str, str | int | float | bool]:
        """The signed ``power`` event's details for this sleep."""
        found: dict[str, str | int | float | bool] = {
            "state": "sleep", "wake_after_s": self.wake_after_s, "wake_for": self.reason,
            "awake_s": round(self.awake_s, 3)}
        if self.ttff_s is not None:
            found["ttff_s"] = round(self.ttff_s, 3)
        if self.waited_for:
            found["gave_up_on"] = ",".join(self.waited_for)[:200]
        return found


class WakeSession:
    """One wake, from the daemon's start to its shutdown request."""

    def __init__(self, rules: SessionRules, started_mono: float) -> None:
        self.rules = rules
        self.started = started_mono
        self.ttff_s: float | None = None

    def fixed(self, mono: float) -> None:
        """Note a usable fix; the first one gives the wake's time to first fix."""
        if self.ttff_s is None:
            self.ttff_s = max(mono - self.started, 0.0)
            logger.info("time to first fix this wake: %.1f s", self.ttff_s)

    def awake_s(self, mono: float) -> float:
        """Seconds since the wake began."""
        return mono - self.started

    def plan(self, mono: float, now: datetime, waiting: list[str],
             next_due: datetime | None) -> WakePlan | None:
        """The sleep to take now, or None while the wake must go on.

        ``waiting``: what is still going (e.g. ``checkin``, ``gps_fix``);
        ``next_due``: the next scheduled moment (a slot's prompt or close), if any.
        """
        awake = self.awake_s(mono)
        if awake < self.rules.min_awake_s or CHECKIN in waiting:
            return None
        if waiting and awake < self.rules.max_awake_s:
            return None
        sleep_s, reason = self.rules.wake_interval_s, "interval"
        if next_due is not None:
            to_due = (next_due - now).total_seconds() - self.rules.boot_lead_s
            if to_due < MIN_SLEEP_S:
                return None  # the slot is about to open: stay up for it
            if to_due < sleep_s:
                sleep_s, reason = to_due, "checkin_slot"
        wake_after = min(int(sleep_s), MAX_WAKE_AFTER_S)
        return WakePlan(wake_after, reason, awake, self.ttff_s, tuple(waiting))
