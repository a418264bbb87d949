"""The fix tracker: observations -> one Fix per epoch, receiver state with hysteresis, events.

Pure: it is fed observations and told when the source went silent; it reads the injected clock
only to stamp arrival and to measure the offset between GPS time and the system clock.
"""

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from fieldcheck_protocol.clock import Clock
from firmware.core.epoch import Epoch
from firmware.core.fix import EventKind, Fix, FixType, GpsEvent, GpsState
from firmware.core.observation import Observation
from firmware.core.plausibility import Plausibility, PlausibilityPolicy

Output = Fix | GpsEvent
_HALF_DAY_MS = 12 * 3600 * 1000


@dataclass(frozen=True)
class TrackerPolicy:
    """How many consecutive epochs confirm a state change (no-fix / 2D / 3D)."""

    hysteresis_epochs: int = 3


def _state_of(fix: Fix) -> GpsState:
    if not fix.valid or not fix.has_position:
        return GpsState.NO_FIX
    return GpsState.FIX_3D if fix.fix_type is FixType.THREE_D else GpsState.FIX_2D


class FixTracker:
    """Assembles epochs into fixes and keeps the receiver state."""

    def __init__(
        self,
        clock: Clock,
        policy: TrackerPolicy | None = None,
        plausibility: PlausibilityPolicy | None = None,
    ) -> None:
        self._clock = clock
        self._policy = policy or TrackerPolicy()
        self._filters = Plausibility(plausibility)
        self._epoch: Epoch | None = None
        self._day: date | None = None  # last UTC date seen, for epochs that carry only a time
        self._last_key: int | None = None
        self._pending: GpsState | None = None
        self._pending_count = 0
        self._ever_fixed = False
        self.state = GpsState.NO_DATA
        self.last_fix: Fix | None = None
        self.last_usable: Fix | None = None
        self.clock_offset_s: float | None = None
        self.epochs = 0
        self.usable_count = 0
        self.fixes_by_type: Counter[str] = Counter()
        self.flagged: Counter[str] = Counter()

    def observe(self, obs: Observation) -> list[Output]:
        """Feed one observation; returns the fix (and events) of an epoch it closed, if any."""
        out: list[Output] = []
        if self._epoch is not None and not self._epoch.belongs(obs):
            out = self._close()
        if self._epoch is None:
            self._epoch = Epoch(first_mono=self._clock.monotonic(), first_wall=self._clock.now())
        self._epoch.add(obs)
        return out

    def flush(self) -> list[Output]:
        """Close the open epoch now (end of a log, or the source went quiet)."""
        return self._close() if self._epoch is not None else []

    def no_data(self) -> list[Output]:
        """The source has been silent too long: close the epoch and enter NO_DATA at once."""
        out = self.flush()
        self._pending, self._pending_count = None, 0
        event = self._change(GpsState.NO_DATA, None)
        return out + ([event] if event else [])

    def _close(self) -> list[Output]:
        epoch, self._epoch = self._epoch, None
        if epoch is None:
            return []
        fix = epoch.fix(self._date_for(epoch))
        offset = None
        if fix.utc is not None and fix.valid:
            offset = (fix.utc - epoch.first_wall).total_seconds()
            self.clock_offset_s = offset
        flags = self._filters.check(fix, self._clock.now())
        fix = dataclasses.replace(fix, clock_offset_s=offset, flags=flags)
        self.epochs += 1
        self.fixes_by_type[fix.fix_type.value] += 1
        self.flagged.update(flags)
        self.last_fix = fix
        if fix.usable:
            self.last_usable = fix
            self.usable_count += 1
        event = self._hysteresis(fix)
        return [fix, event] if event else [fix]

    def _date_for(self, epoch: Epoch) -> date | None:
        """Date for an epoch: its own, else the last one, rolled over at midnight."""
        key = epoch.utc_time.key if epoch.utc_time else None
        if epoch.utc_date is not None:
            self._day = epoch.utc_date
        elif self._day is not None and key is not None and self._last_key is not None:
            if key < self._last_key - _HALF_DAY_MS:
                self._day += timedelta(days=1)
        if key is not None:
            self._last_key = key
        return self._day

    def _hysteresis(self, fix: Fix) -> GpsEvent | None:
        candidate = _state_of(fix)
        if candidate == self.state:
            self._pending, self._pending_count = None, 0
            return None
        if self.state is GpsState.NO_DATA:
            return self._change(candidate, fix)  # data is back: no reason to wait
        if candidate != self._pending:
            self._pending, self._pending_count = candidate, 0
        self._pending_count += 1
        if self._pending_count < self._policy.hysteresis_epochs:
            return None
        self._pending, self._pending_count = None, 0
        return self._change(candidate, fix)

    def _change(self, new: GpsState, fix: Fix | None) -> GpsEvent | None:
        old = self.state
        if new == old:
            return None
        self.state = new
        if new.has_fix and not old.has_fix:
            kind = EventKind.FIX_REGAINED if self._ever_fixed else EventKind.FIX_ACQUIRED
            self._ever_fixed = True
        elif old.has_fix and not new.has_fix:
            kind = EventKind.FIX_LOST
        else:
            kind = EventKind.STATE_CHANGED
        return GpsEvent(
            kind=kind, previous=old, current=new, at_mono=self._clock.monotonic(), fix=fix
        )
