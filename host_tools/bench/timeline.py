"""The demo's one writer: the unit's report items as lines in time order, each with its time.

The daemon's threads report as things happen, each item stamped with the time it is about (a
fix with its GPS time, an event or a check-in with the device clock), and a report may reach the
pipe after a later one (a check-in is reported once its record is committed). The timeline holds
each item for a moment and writes them ordered by that time; an item without a time of its own
(a committed record, the GPS state going to no_data) takes the time of what caused it.
"""

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: How long an item is held for a late report with an earlier time, wall seconds.
HOLD_S = 1.5


def item_time(item: dict[str, Any]) -> datetime | None:
    """The time an item is about, if it carries one."""
    for key in ("gps_time", "time", "device_time"):
        text = item.get(key)
        if text:
            try:
                when = datetime.fromisoformat(str(text))
            except ValueError:
                continue
            return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return None


@dataclass(order=True)
class _Entry:
    when: datetime
    order: int
    arrived: float = field(compare=False)
    item: dict[str, Any] = field(compare=False)


class Timeline:
    """``add`` report items as they arrive, ``release`` those that waited; ``drain`` at the end.

    ``write(when, item)`` receives every item exactly once, in time order among those that
    arrived within ``hold_s`` of each other (arrival order breaks ties).
    """

    def __init__(self, write: Callable[[datetime, dict[str, Any]], None],
                 hold_s: float = HOLD_S) -> None:
        self._write = write
        self._hold_s = hold_s
        self._pending: list[_Entry] = []
        self._latest: datetime | None = None
        self._untimed: list[tuple[float, dict[str, Any]]] = []  # before any time was seen
        self._count = 0

    def add(self, item: dict[str, Any], now: float) -> None:
        """Take one item that arrived at ``now`` (monotonic seconds)."""
        when = item_time(item)
        if when is not None and (self._latest is None or when > self._latest):
            self._latest = when
        when = when or self._latest
        if when is None:
            self._untimed.append((now, item))
            return
        for arrived, early in self._untimed:  # what came before the first time is about it
            self._push(when, arrived, early)
        self._untimed.clear()
        self._push(when, now, item)

    def release(self, now: float) -> None:
        """Write, in time order, while some held item has waited ``hold_s``."""
        while self._pending and min(e.arrived for e in self._pending) <= now - self._hold_s:
            entry = heapq.heappop(self._pending)
            self._write(entry.when, entry.item)

    def drain(self) -> None:
        """Write everything still held (the report has ended)."""
        for arrived, item in self._untimed:  # no item ever had a time
            self._push(datetime.min.replace(tzinfo=UTC), arrived, item)
        self._untimed.clear()
        self.release(float("inf"))

    def _push(self, when: datetime, arrived: float, item: dict[str, Any]) -> None:
        self._count += 1
        heapq.heappush(self._pending, _Entry(when, self._count, arrived, item))
