"""The fix tracker: observations -> one Fix per epoch, receiver state with hysteresis, events.

Pure: it is fed observations and told when the source went silent; it reads the injected clock
only to stamp arrival and to measure the offset between GPS time and the system clock. An epoch's
fix goes out as soon as the epoch is complete: at the learned end of the receiver's cycle, else
(while learning) at the next epoch's first sentence or after a silence (:meth:`idle`).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from fieldcheck_protocol.clock import Clock
from firmware.core.cycle import CycleLearner, sentence_key
from firmware.core.epoch import Epoch
from firmware.core.fix import DateSource, EventKind, Fix, FixType, GpsEvent, GpsState
from firmware.core.observation import TIMED, Observation, Rmc, Zda
from firmware.core.plausibility import Plausibility, PlausibilityPolicy
from firmware.core.utc_day import NEVER_SYNCED, ClockSync, DayKeeper, backfill_dates, instant

Output = Fix | GpsEvent
#: Undated epochs held for back-fill at most (an hour at 1 Hz); older ones go out undated.
MAX_HELD = 3600


@dataclass(frozen=True)
class TrackerPolicy:
    """State hysteresis, cycle learning and (offline only) date back-fill."""

    hysteresis_epochs: int = 3  # consecutive epochs that confirm a no-fix / 2D / 3D change
    cycle_confirm_epochs: int = 3  # epochs ending with the same sentence that confirm a cycle
    backfill_dates: bool = False  # hold undated epochs until a later RMC/ZDA (log inspection)


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
        clock_sync: ClockSync = NEVER_SYNCED,
    ) -> None:
        self._clock = clock
        self._monotonic = clock.monotonic  # read for every sentence
        self._policy = policy or TrackerPolicy()
        self._filters = Plausibility(plausibility)
        self._days = DayKeeper(clock, clock_sync)
        self.cycle = CycleLearner(self._policy.cycle_confirm_epochs)
        self._epoch: Epoch | None = None
        self._held: list[Epoch] = []  # undated epochs waiting for a later date (back-fill)
        self._closed_early = False  # the last epoch closed at its learned end of cycle
        self._early_key: int | None = None
        self._pending: GpsState | None = None
        self._pending_count = 0
        self._ever_fixed = False
        self.state = GpsState.NO_DATA
        self.last_fix: Fix | None = None
        self.last_usable: Fix | None = None
        self.clock_offset_s: float | None = None
        self.epochs = 0
        self.usable_count = 0
        self.late_sentences = 0  # sentences of an epoch already closed at its learned end
        self.fixes_by_type: Counter[str] = Counter()
        self.flagged: Counter[str] = Counter()
        self.dates_by_source: Counter[str] = Counter()
        self.closed_by: Counter[str] = Counter()  # end_of_cycle, next_epoch, silence, flush

    def observe(self, obs: Observation) -> list[Output]:
        """Feed one observation; returns the fix (and events) of an epoch it completed, if any."""
        now = self._monotonic()
        epoch = self._epoch
        out: list[Output] = []
        if epoch is None:
            if self._closed_early and self._is_late(obs):
                self._late(obs, now)
                return []
        elif not epoch.belongs(obs):
            out = self._close("next_epoch")
            epoch = None
        if epoch is None:
            epoch = self._epoch = Epoch(first_mono=now, first_wall=self._clock.now())
            self._closed_early = False
        if epoch.add(obs, now) == self.cycle.end:  # cycle.is_end, inline (never None)
            self._early_key = epoch.utc_time.key if epoch.utc_time else None
            out += self._close("end_of_cycle")
            self._closed_early = True
        return out

    def idle(self, gap_s: float) -> list[Output]:
        """Close the open epoch if its last sentence is ``gap_s`` old: the burst is over."""
        epoch = self._epoch
        if epoch is None or self._clock.monotonic() - epoch.last_mono < gap_s:
            return []
        return self._close("silence")

    def flush(self) -> list[Output]:
        """Close the open epoch now (end of a log, or the source went quiet)."""
        out = self._close("flush") if self._epoch is not None else []
        return out + self._release(None)

    def no_data(self) -> list[Output]:
        """The source has been silent too long: close the epoch and enter NO_DATA at once."""
        out = self.flush()
        self._pending, self._pending_count = None, 0
        event = self._change(GpsState.NO_DATA, None)
        return out + ([event] if event else [])

    def _is_late(self, obs: Observation) -> bool:
        """Whether ``obs`` still belongs to the epoch just closed at its learned end."""
        if isinstance(obs, TIMED):
            return obs.time is not None and obs.time.key == self._early_key
        return self.cycle.first is not None and sentence_key(obs) != self.cycle.first

    def _late(self, obs: Observation, mono: float) -> None:
        """The learned end was not the end: keep the date, drop the rest, learn again."""
        self.late_sentences += 1
        if isinstance(obs, Rmc | Zda) and obs.date is not None:
            self._days.gps_date(obs.date, obs.time, mono)
        self.cycle.unlearn()

    def _close(self, why: str) -> list[Output]:
        epoch, self._epoch = self._epoch, None
        if epoch is None:
            return []
        self.closed_by[why] += 1
        if why != "flush" and epoch.last_marker is not None and epoch.first_key is not None:
            self.cycle.epoch_done(epoch.last_marker, epoch.first_key)
        day, source = self._days.resolve(epoch.utc_date, epoch.utc_time, epoch.first_mono)
        if day is None and self._policy.backfill_dates and epoch.utc_time is not None:
            self._held.append(epoch)
            return self._release(None) if len(self._held) > MAX_HELD else []
        if not self._held:  # nothing waits for a date (always so live)
            return self._finish(epoch, day, source)
        dated_at = instant(day, epoch.utc_time) if day and epoch.utc_time else None
        return self._release(dated_at, epoch.first_mono) + self._finish(epoch, day, source)

    def _release(self, dated_at: datetime | None, dated_mono: float = 0.0) -> list[Output]:
        """Finish the held epochs, dated back from ``dated_at`` (the next dated epoch) or not."""
        held, self._held = self._held, []
        if not held:
            return []
        if dated_at is None:
            return [out for e in held for out in self._finish(e, None, None)]
        times = [(e.utc_time, e.first_mono) for e in held if e.utc_time is not None]
        days = backfill_dates(times, dated_at, dated_mono)
        out: list[Output] = []
        for epoch, day in zip(held, days, strict=True):
            out += self._finish(epoch, day, DateSource.BACKFILL)
        return out

    def _finish(self, epoch: Epoch, day: date | None, source: DateSource | None) -> list[Output]:
        fix = epoch.fix(day, source)
        if fix.clock_offset_s is not None:
            self.clock_offset_s = fix.clock_offset_s
        flags = self._filters.check(fix, self._clock.now())
        if flags:  # a fix is built once; only a flagged one again, with its reasons
            fix = fix.with_flags(flags)
        self.epochs += 1
        self.fixes_by_type[fix.fix_type.value] += 1
        for flag in flags:  # not Counter.update: a call of its own for one or two reasons
            self.flagged[flag] += 1
        self.dates_by_source[fix.date_source.value if fix.date_source else "none"] += 1
        self.last_fix = fix
        if fix.usable:
            self.last_usable = fix
            self.usable_count += 1
        event = self._hysteresis(fix)
        return [fix, event] if event else [fix]

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
