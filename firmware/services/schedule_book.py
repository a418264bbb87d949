"""The schedule's durable memory: drawn windows, published days, settled slots, last awake time.

Kept in one small JSON file in the data directory (``schedule.json``, replaced atomically), so a
restart neither redraws a day's random windows nor forgets which slots were already done, and
the next boot can tell which published slots closed while the unit was off. Without a path the
book lives in memory only (tests, ``checkin now``).

A book that cannot be read is logged and started afresh: the windows of today are then drawn
again and published again as a new signed ``schedule`` event, so the server sees the redraw.
"""

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from firmware.private_file import replace_private

logger = logging.getLogger(__name__)

#: File name of the book inside the data directory.
BOOK_FILE = "schedule.json"
#: Days of draws and settled slots kept (older ones cannot matter any more).
KEEP_DAYS = 14
#: The last-awake mark is written at most this often (an SD card is not a RAM disk).
AWAKE_EVERY = timedelta(seconds=60)
FORMAT = 1


@dataclass(frozen=True)
class PublishedSlot:
    """A slot as it was published: what the server was told to expect."""

    due: datetime
    closes: datetime


class ScheduleBook:
    """Thread-safe, durable record of what the schedule drew, published and settled."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._days: dict[str, dict[str, Any]] = {}
        self._settled: set[str] = set()
        self._awake: datetime | None = None
        self._written_awake: datetime | None = None
        if path is not None:
            self._load(path)

    @property
    def last_awake(self) -> datetime | None:
        """The last moment the schedule was looked after before this start (None: never)."""
        return self._awake

    def draws(self, day: date, fingerprint: str) -> list[float] | None:
        """The draws kept for ``day`` under the same settings, or None (draw them now)."""
        with self._lock:
            entry = self._days.get(day.isoformat())
            if entry is None or entry.get("fingerprint") != fingerprint:
                return None
            draws = entry.get("draws")
            return [float(d) for d in draws] if isinstance(draws, list) else None

    def keep_draws(self, day: date, fingerprint: str, draws: list[float]) -> None:
        """Keep ``day``'s fresh draws (durably, before anything uses them)."""
        with self._lock:
            kept = (self._days.get(day.isoformat()) or {}).get("kept")
            self._days[day.isoformat()] = {"fingerprint": fingerprint, "draws": list(draws),
                                           "published": None}
            if kept is not None:  # a week's Monday may be a kept day as well
                self._days[day.isoformat()]["kept"] = kept
            self._save()

    def is_published(self, day: date, fingerprint: str) -> bool:
        """Whether ``day``'s slots under these settings were published as a signed event."""
        with self._lock:
            entry = self._days.get(day.isoformat())
            return (entry is not None and entry.get("fingerprint") == fingerprint
                    and entry.get("published") is not None)

    def keep_day(self, day: date, slots: list[PublishedSlot]) -> None:
        """Keep ``day``'s slots as they are, whatever the settings become (a change of the
        schedule made while the unit runs applies from the next day)."""
        with self._lock:
            entry = self._days.setdefault(day.isoformat(), {"draws": None, "published": None})
            entry["kept"] = [[s.due.isoformat(), s.closes.isoformat()] for s in slots]
            self._save()

    def kept_slots(self, day: date) -> list[PublishedSlot] | None:
        """The slots :meth:`keep_day` kept for ``day``, or None."""
        with self._lock:
            entry = self._days.get(day.isoformat())
            kept = entry.get("kept") if entry is not None else None
        if kept is None:
            return None
        return [PublishedSlot(datetime.fromisoformat(due), datetime.fromisoformat(end))
                for due, end in kept]

    def mark_published(self, day: date, fingerprint: str, slots: list[PublishedSlot]) -> None:
        """Note that ``slots`` of ``day`` are published (call after the event is committed)."""
        with self._lock:
            entry = self._days.setdefault(day.isoformat(), {"draws": None})
            entry["fingerprint"] = fingerprint
            entry["published"] = [[s.due.isoformat(), s.closes.isoformat()] for s in slots]
            self._save()

    def published_slots(self) -> list[PublishedSlot]:
        """Every kept published slot, in due order."""
        with self._lock:
            pairs = [p for e in self._days.values() for p in (e.get("published") or [])]
        return sorted((PublishedSlot(datetime.fromisoformat(due), datetime.fromisoformat(end))
                       for due, end in pairs), key=lambda s: s.due)

    def settle(self, due: datetime) -> None:
        """Note that the slot due at ``due`` was checked in or its miss was recorded."""
        with self._lock:
            self._settled.add(due.isoformat())
            self._save()

    def is_settled(self, due: datetime) -> bool:
        """Whether the slot due at ``due`` needs nothing more."""
        with self._lock:
            return due.isoformat() in self._settled

    def awake(self, now: datetime) -> None:
        """Mark the schedule looked after until ``now`` (written at most every minute)."""
        with self._lock:
            if self._written_awake is not None and now - self._written_awake < AWAKE_EVERY:
                return
            self._written_awake = now
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        awake = self._written_awake or self._awake
        newest = max((date.fromisoformat(d) for d in self._days), default=None)
        if newest is not None:
            for old in [d for d in self._days
                        if date.fromisoformat(d) < newest - timedelta(days=KEEP_DAYS)]:
                del self._days[old]
            cutoff = (newest - timedelta(days=KEEP_DAYS)).isoformat()
            self._settled = {s for s in self._settled if s[:10] >= cutoff}
        data = {"format": FORMAT, "awake": awake.isoformat() if awake else None,
                "days": self._days, "settled": sorted(self._settled)}
        replace_private(self.path, (json.dumps(data, indent=1) + "\n").encode())

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as err:
            logger.error("schedule book %s is unreadable (%s): starting a new one; today's "
                         "windows are drawn and published again", path, err)
            return
        try:
            days, settled = dict(data["days"]), {str(s) for s in data["settled"]}
            awake = datetime.fromisoformat(data["awake"]) if data.get("awake") else None
        except (KeyError, TypeError, ValueError) as err:
            logger.error("schedule book %s is malformed (%s): starting a new one", path, err)
            return
        self._days, self._settled, self._awake = days, settled, awake
