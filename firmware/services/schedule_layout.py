"""Where a period's random check-in windows go: the local day's span minus quiet hours.

Also the settings' local times: ``HH:MM`` and the quiet hours, checked.

Pure time arithmetic in UTC (local times are turned into instants through the zone, so DST days
are as long as they really are). A period (one local day, or the seven days of a week) is a list
of :data:`Span`; its available time is cut into equal windows, one per draw, and each slot's due
time lands at ``draw`` of the room its window leaves for the grace period. Laid end to end, the
spans are one time line: without quiet hours a day is one span and this is the plain
"``start + i * width + room * draw``" layout. A slot whose grace period would cross into quiet
hours is moved to the nearer side of the gap that keeps it inside its window.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from firmware.errors import ConfigError

#: A stretch of time a check-in may fall in: (start, end), UTC, start < end.
Span = tuple[datetime, datetime]


def parse_hhmm(text: str, where: str) -> time:
    """A local ``HH:MM`` time; anything else is a ConfigError naming the setting."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ConfigError(f"[checkin] {where} = {text!r} is not a time",
                          'write it as "HH:MM", e.g. "09:30"') from None


def quiet_hours(quiet_start: str, quiet_end: str) -> tuple[time, time] | None:
    """The quiet hours, or None; one end without the other is a config error."""
    if not quiet_start and not quiet_end:
        return None
    if not quiet_start or not quiet_end:
        raise ConfigError("[checkin] quiet hours need both quiet_start and quiet_end",
                          'set both (e.g. "22:00" and "07:00"), or neither')
    begin = parse_hhmm(quiet_start, "quiet_start")
    end = parse_hhmm(quiet_end, "quiet_end")
    if begin == end:
        raise ConfigError("[checkin] quiet_start and quiet_end are the same time",
                          "give the quiet hours a length, or leave both empty")
    return begin, end


def in_quiet(at: time, quiet: tuple[time, time]) -> bool:
    """Whether local time ``at`` falls in the quiet hours (begin included, end not)."""
    begin, end = quiet
    return begin <= at < end if begin < end else at >= begin or at < end


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Local ``day`` at ``at`` in ``zone`` as a UTC instant (a time in a DST gap: after it)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def quiet_spans(day: date, quiet: tuple[time, time], zone: ZoneInfo) -> list[Span]:
    """The quiet hours touching local ``day`` (``22:00``-``07:00`` crosses midnight)."""
    begin, end = quiet
    if begin < end:
        return [(local_instant(day, begin, zone), local_instant(day, end, zone))]
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    return [(local_instant(before, begin, zone), local_instant(day, end, zone)),
            (local_instant(day, begin, zone), local_instant(after, end, zone))]


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """``spans`` with every part inside a hole removed, in order."""
    found = list(spans)
    for hole_start, hole_end in holes:
        cut: list[Span] = []
        for start, end in found:
            if hole_end <= start or end <= hole_start:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_end < end:
                cut.append((hole_end, end))
        found = cut
    return found


def day_spans(day: date, start: time, end: time, quiet: tuple[time, time] | None,
              zone: ZoneInfo) -> list[Span]:
    """Local ``day`` from ``start`` to ``end``, minus the quiet hours."""
    whole = [(local_instant(day, start, zone), local_instant(day, end, zone))]
    return subtract(whole, quiet_spans(day, quiet, zone)) if quiet is not None else whole


def usable(spans: Sequence[Span], grace: timedelta) -> list[Span]:
    """The spans long enough to hold a whole slot (``grace``); shorter ones are skipped."""
    return [(start, end) for start, end in spans if end - start >= grace]


def window_width(spans: Sequence[Span], count: int) -> timedelta:
    """The available time of ``spans`` divided into ``count`` equal windows."""
    total = sum((end - start for start, end in spans), timedelta(0))
    return total / max(count, 1)


def lay_out(spans: Sequence[Span], draws: Sequence[float], grace: timedelta) -> list[datetime]:
    """One due time per draw (0..1), in order, the ``i``-th inside the ``i``-th window.

    ``spans`` must come from :func:`usable`; each slot (due to due + ``grace``) stays in one
    span, so never in quiet hours.
    """
    width = window_width(spans, len(draws))
    room = max(width - grace, timedelta(0))
    dues: list[datetime] = []
    for i, draw in enumerate(draws):
        offset = _inside_one_span(spans, i * width + room * draw, grace, i * width, width)
        dues.append(_at(spans, offset).replace(microsecond=0))
    return dues


def _inside_one_span(spans: Sequence[Span], offset: timedelta, grace: timedelta,
                     window_start: timedelta, width: timedelta) -> timedelta:
    """``offset`` moved so that [offset, offset + grace] does not cross a gap between spans."""
    edge = timedelta(0)
    for start, end in spans[:-1]:
        edge += end - start
        if offset < edge < offset + grace:
            if edge + grace <= window_start + width:
                return edge  # the slot starts where the next span begins
            return edge - grace  # the slot ends where quiet hours begin
    return offset


def _at(spans: Sequence[Span], offset: timedelta) -> datetime:
    """The instant ``offset`` into the spans laid end to end."""
    left = offset
    for start, end in spans:
        if left < end - start:
            return start + left
        left -= end - start
    return spans[-1][1]
