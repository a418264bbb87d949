"""A server's ``set_policy`` applied to the running daemon where that is safe, not only at restart.

Safe at once: the location interval (the ledger writes by it from its next fix) and the check-in
schedule (today's slots stand as they are, published and promised; the new settings draw from
the next local day on, and that day is named in the ``config_change`` event). Everything else
(a backend's settings, intervals of threads already running) applies at the next start, when the
config is read again with the stored changes laid over it.
"""

import dataclasses
import logging
from collections.abc import Callable, Mapping

from fieldcheck_protocol.clock import Clock
from firmware.config import DeviceConfig
from firmware.errors import ConfigError
from firmware.services.ledger import Ledger
from firmware.services.remote_policy import Value
from firmware.services.schedule import ScheduleTracker

logger = logging.getLogger(__name__)

#: [policy] keys the ledger follows at once.
LEDGER_KEYS = ("policy.location_interval_s",)
#: [checkin] keys that shape the schedule: applied at once, from the next local day.
SCHEDULE_KEYS = tuple(f"checkin.{key}" for key in (
    "mode", "times", "per_day", "per_week", "day_start", "day_end", "early_min", "grace_min",
    "timezone", "quiet_start", "quiet_end"))

#: The effective config with the stored changes laid over the config file (None: unusable).
Reload = Callable[[], DeviceConfig | None]


class LivePolicy:
    """Applies stored policy changes to the ledger and the schedule of the running daemon."""

    def __init__(self, reload: Reload, ledger: Ledger, tracker: ScheduleTracker | None,
                 clock: Clock) -> None:
        self._reload = reload
        self._ledger = ledger
        self._tracker = tracker
        self._clock = clock

    def __call__(self, changes: Mapping[str, Value]) -> dict[str, str]:
        """Apply what is safe of ``changes`` now; returns the event's ``applies`` details."""
        now_keys = [k for k in changes if k in LEDGER_KEYS
                    or (k in SCHEDULE_KEYS and self._tracker is not None)]
        later = sorted(set(changes) - set(now_keys))
        config = self._reload() if now_keys else None
        if config is None:
            return {"applies": "next_start"}
        found: dict[str, str] = {}
        if any(k in LEDGER_KEYS for k in now_keys):
            self._ledger.change_policy(dataclasses.replace(
                self._ledger.policy, location_interval_s=config.policy.location_interval_s))
        if any(k in SCHEDULE_KEYS for k in now_keys) and self._tracker is not None:
            try:
                first = self._tracker.change_settings(config.checkin, self._clock.now())
            except ConfigError as err:  # the config check passed: only a bug gets here
                logger.error("the new schedule cannot be applied now (%s); it applies at the "
                             "next start", err)
                later = sorted(set(later) | {k for k in now_keys if k in SCHEDULE_KEYS})
            else:
                found["schedule_from"] = first.isoformat()
                logger.info("schedule changed by the server: today's slots stand, the new "
                            "settings draw from %s", first)
        found["applies"] = "now_and_next_start" if later else "now"
        if later:
            found["next_start"] = ",".join(later)
        return found
