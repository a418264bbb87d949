"""The UTC date of an epoch whose sentences carry only a time of day (GGA, GLL, GNS).

As gpsd and gpsbabel do, the date comes from a trustworthy source, in this order: a sentence of
the epoch itself (RMC, ZDA); the last GPS date, moved on by the monotonic time since and rolled
over when the time of day wraps at midnight; the system clock, but only while the kernel says it
is synchronised (a Pi has no RTC: an unsynchronised clock may say 1970). Offline, a later
RMC/ZDA of the same log back-fills the epochs before it (see :func:`backfill_dates`).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from fieldcheck_protocol.clock import Clock
from firmware.core.fix import DateSource
from firmware.core.observation import UtcTime

#: A carried date is trusted this long after the last epoch that had a date: beyond half a day
#: the midnight rule is ambiguous, and a suspended Pi's monotonic clock misses the sleep.
MAX_CARRY_S = 6 * 3600.0


class ClockSync(Protocol):
    """Whether the system clock is synchronised now (NTP, PTP, GPS-disciplined)."""

    def synchronized(self) -> bool:
        """True only when the kernel (or time daemon) says the clock is synchronised."""
        ...


@dataclass(frozen=True)
class FixedClockSync:
    """A clock-sync answer fixed at construction: offline tools (never) and tests."""

    synced: bool = False

    def synchronized(self) -> bool:
        """The fixed answer."""
        return self.synced


NEVER_SYNCED = FixedClockSync(False)


def instant(day: date, when: UtcTime) -> datetime:
    """``day`` at ``when``; the leap second ``23:59:60`` becomes the last representable instant."""
    second, micro = (59, 999_999) if when.leap_second else (when.second, when.microsecond)
    # One constructor call (the same value as datetime.combine(day, time(...), tzinfo=UTC)).
    return datetime(day.year, day.month, day.day, when.hour, when.minute, second, micro, UTC)


def nearest_date(when: UtcTime, around: datetime) -> date:
    """The date that puts the time of day ``when`` nearest to the instant ``around``.

    ``23:59:59`` near ``00:00:01`` on the 25th is the 24th; ``00:00:00`` right after
    ``23:59:59`` on the 24th is the 25th (the midnight rollover).
    """
    base = around.astimezone(UTC)
    days = (base.date() + timedelta(days=offset) for offset in (-1, 0, 1))
    return min(days, key=lambda day: abs(instant(day, when) - base))


@dataclass
class _Anchor:
    """The last GPS date: ``day`` at time of day ``when``, seen at monotonic ``mono``."""

    day: date
    when: UtcTime
    mono: float

    @property
    def utc(self) -> datetime:
        """The anchor's instant (computed only when a later epoch carries the date)."""
        return instant(self.day, self.when)


class DayKeeper:
    """Gives each epoch its UTC date and says where the date came from."""

    def __init__(self, clock: Clock, sync: ClockSync = NEVER_SYNCED) -> None:
        self._clock = clock
        self._sync = sync
        self._anchor: _Anchor | None = None

    def gps_date(self, day: date, when: UtcTime | None, mono: float) -> None:
        """A sentence carried a date (also one arriving after its epoch was closed)."""
        if when is not None:
            self._anchor = _Anchor(day, when, mono)

    def resolve(
        self, own: date | None, when: UtcTime | None, mono: float
    ) -> tuple[date | None, DateSource | None]:
        """The date for an epoch at time of day ``when`` whose first sentence came at ``mono``."""
        if when is None:
            return None, None
        if own is not None:
            self.gps_date(own, when, mono)
            return own, DateSource.GPS
        anchor = self._anchor
        if anchor is not None and 0 <= mono - anchor.mono <= MAX_CARRY_S:
            day = nearest_date(when, anchor.utc + timedelta(seconds=mono - anchor.mono))
            self._anchor = _Anchor(day, when, mono)  # so rollovers chain
            return day, DateSource.CARRIED
        if self._sync.synchronized():
            return nearest_date(when, self._clock.now()), DateSource.SYSTEM_CLOCK
        return None, None


def backfill_dates(
    times: list[tuple[UtcTime, float]], later: datetime, later_mono: float
) -> list[date]:
    """Dates for epochs ``(time of day, monotonic arrival)`` that came before a dated one.

    Walks backwards from the dated epoch at ``later``, each epoch taking the date nearest to
    the one after it, moved back by the monotonic time between them.
    """
    dates: list[date] = []
    next_utc, next_mono = later, later_mono
    for when, mono in reversed(times):
        day = nearest_date(when, next_utc - timedelta(seconds=max(0.0, next_mono - mono)))
        dates.append(day)
        next_utc, next_mono = instant(day, when), mono
    dates.reverse()
    return dates
