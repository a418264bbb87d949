"""Check-in schedule policy: when check-ins are due, and which windows closed without one.

Pure policy on an injected time and random source. Two ways to set a day:

* ``times``: fixed local times ("09:00", "13:00", ...): the wearer knows them in advance.
* ``windows``: ``per_day`` check-ins, one in each equal part of ``day_start``-``day_end``, at a
  random moment inside that part, so the time cannot be planned around. With ``per_week`` the
  week's check-ins (Monday to Sunday, local) are spread the same way over the whole week, drawn
  at once and published as one ``schedule`` event.

Quiet hours (``quiet_start``-``quiet_end``, local, may cross midnight) hold no slot: windows are
laid over the rest of the day (:mod:`firmware.services.schedule_layout`), and a fixed time inside
them is a config error.

A slot opens ``early_min`` before its due time and closes ``grace_min`` after it. Any check-in
inside that span (scheduled, button or manual, whatever its verdict) satisfies the slot. A slot
that closes with none becomes a ``checkin_missed`` event record for a human to look at: never
an alarm, never an escalation by the device.
"""

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldcheck_protocol.review_box import ReviewBoxError, parse_public_key
from firmware.core.settings import SettingsError, setting
from firmware.errors import ConfigError
from firmware.face.liveness import LivenessSettings
from firmware.services import schedule_layout as layout
from firmware.services.schedule_book import PublishedSlot, ScheduleBook
from firmware.services.schedule_layout import parse_hhmm

#: Most slots a day may have: a day's ``schedule`` event lists them all in one detail value.
MAX_SLOTS_PER_DAY = 16
#: Most slots a week may have: a week's event names each due time with its date (26 bytes).
MAX_SLOTS_PER_WEEK = 9
#: A Monday with no DST change, on which quiet hours are checked against the windows.
REFERENCE_WEEK = date(2026, 1, 5)

Mode = Literal["off", "times", "windows"]


@dataclass(frozen=True)
class CheckinSettings:
    """The ``[checkin]`` section: the schedule, how one check-in runs, where the template is."""

    mode: Mode = setting(
        "off", "off (button and manual check-ins only), times (fixed) or windows (random)"
    )
    times: tuple[str, ...] = setting(("09:00", "13:00", "19:00"), "times mode: local HH:MM")
    per_day: int = setting(3, "windows mode: check-ins a day, one per equal window")
    per_week: int = setting(
        0, "windows mode: check-ins a week instead of per_day (0: per_day applies), spread over "
        "the week's days (Monday to Sunday, local) and drawn at once"
    )
    quiet_start: str = setting(
        "", "local HH:MM quiet hours begin: no check-in slot inside them (empty: none)"
    )
    quiet_end: str = setting(
        "", "local HH:MM quiet hours end (earlier than quiet_start: they cross midnight)"
    )
    day_start: str = setting("08:00", "windows mode: local time the first window opens")
    day_end: str = setting("20:00", "windows mode: local time the last window closes")
    early_min: float = setting(10.0, "minutes before the due time a check-in already counts")
    grace_min: float = setting(15.0, "minutes after the due time a check-in still counts")
    reminder_min: float = setting(
        5.0, "minutes before a slot's due time the wearer is reminded (0: no reminder)"
    )
    wait_for_button: bool = setting(
        True, "a scheduled check-in captures only when the wearer presses the button inside "
        "the window (false: it captures at the due time unattended)"
    )
    timezone: str = setting("UTC", "IANA time zone of the schedule's local times")
    attempts: int = setting(3, "tries per check-in while the face check says how to do better")
    burst_frames: int = setting(3, "frames captured per try")
    retry_delay_s: float = setting(3.0, "seconds between tries (time to follow the guidance)")
    capture_timeout_s: float = setting(5.0, "seconds the camera may take for one burst")
    fix_wait_s: float = setting(
        10.0, "seconds a check-in waits for a fresh GPS fix before it records the last fix "
        "with its age (0: no wait)")
    liveness: LivenessSettings = setting(
        LivenessSettings(), "presentation-attack checks ([checkin.liveness])")
    template_file: Path = setting(
        Path("face-template.fct"), "enrolled template (relative paths: inside device.data_dir)"
    )
    key_file: Path = setting(
        Path("face-template.key"), "template key file (relative: inside device.data_dir); "
        "at this default the key is derived from the device key instead and an old key file "
        "here is migrated away; any other path is a key file kept apart and used"
    )
    key_credential: str = setting(
        "", "systemd credential name holding the template key instead of key_file"
    )
    review_images: bool = setting(
        False, "keep the frames of a no_match check-in for human review, encrypted to "
        "review_public_key; off by default"
    )
    review_public_key: str = setting(
        "", "X25519 public key (64 hex digits) of the agency's review desk; required when "
        "review_images is true (the unit can seal to it, never open)"
    )
    review_retention_days: float = setting(
        30.0, "days a sealed review image is kept before the unit deletes it"
    )
    review_dir: Path = setting(
        Path("review"), "sealed review images (relative: inside device.data_dir)"
    )

    def __post_init__(self) -> None:
        if self.review_retention_days <= 0:
            raise SettingsError("[checkin] review_retention_days must be more than 0")
        if not self.review_images:
            return
        try:
            parse_public_key(self.review_public_key)
        except ReviewBoxError as err:
            missing = "is not set" if not self.review_public_key else f"is unusable: {err}"
            raise SettingsError(
                f"[checkin] review_images = true but review_public_key {missing}; set it to "
                "the review desk's X25519 public key (64 hex digits), or set review_images = "
                "false"
            ) from None


@dataclass(frozen=True)
class Slot:
    """One scheduled check-in: counts from ``opens`` until ``closes``; prompted at ``due``."""

    due: datetime
    opens: datetime
    closes: datetime

    def contains(self, when: datetime) -> bool:
        """Whether a check-in at ``when`` satisfies this slot."""
        return self.opens <= when < self.closes


class Schedule:
    """The slots of any local day under ``settings``; random draws come from ``rng``.

    A day's draws are made once and kept in ``book`` (durable when the book has a file), so a
    restart gives the same windows.
    """

    def __init__(self, settings: CheckinSettings, rng: random.Random,
                 book: ScheduleBook | None = None) -> None:
        self.settings = settings
        self.rng = rng
        self.book = book or ScheduleBook()
        self._dues: dict[date, list[datetime]] = {}
        try:
            self.zone = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"[checkin] timezone = {settings.timezone!r} is unknown",
                              'use an IANA name such as "Europe/Zurich", or "UTC"') from None
        self._times = sorted(parse_hhmm(t, "times") for t in settings.times)
        self._start = parse_hhmm(settings.day_start, "day_start")
        self._end = parse_hhmm(settings.day_end, "day_end")
        if settings.mode == "windows" and (settings.per_day < 1 or self._end <= self._start):
            raise ConfigError("[checkin] windows mode needs per_day >= 1 and day_start < day_end",
                              "fix per_day, day_start or day_end")
        if settings.grace_min <= 0 or settings.early_min < 0:
            raise ConfigError("[checkin] grace_min must be > 0 and early_min >= 0",
                              "set how long a check-in may be late (and early)")
        if max(settings.per_day, len(settings.times)) > MAX_SLOTS_PER_DAY:
            raise ConfigError(f"[checkin] at most {MAX_SLOTS_PER_DAY} check-ins a day",
                              "lower per_day or list fewer times")
        if not 0 <= settings.per_week <= MAX_SLOTS_PER_WEEK:
            raise ConfigError(f"[checkin] per_week must be 0..{MAX_SLOTS_PER_WEEK}",
                              "0 uses per_day; otherwise give the check-ins a week")
        self.quiet = layout.quiet_hours(settings.quiet_start, settings.quiet_end)
        self._check_quiet()
        self.fingerprint = _fingerprint(settings)

    @property
    def weekly(self) -> bool:
        """Whether the windows are drawn a week at a time (``per_week``)."""
        return self.settings.mode == "windows" and self.settings.per_week > 0

    def period_of(self, day: date) -> date:
        """The first day of the period holding local ``day``: itself, or its week's Monday."""
        return day - timedelta(days=day.weekday()) if self.weekly else day

    def period_slots(self, first: date) -> list[Slot]:
        """Every slot of the period starting ``first`` (see :meth:`period_of`), in order."""
        days = 7 if self.weekly else 1
        return [s for i in range(days) for s in self.slots_on(first + timedelta(days=i))]

    def _check_quiet(self) -> None:
        """Fixed times outside quiet hours; windows that still fit beside them."""
        settings, quiet = self.settings, self.quiet
        if quiet is None:
            return
        if settings.mode == "times":
            inside = [t for t in settings.times if layout.in_quiet(parse_hhmm(t, "times"), quiet)]
            if inside:
                raise ConfigError(f"[checkin] times {', '.join(inside)} fall in the quiet hours "
                                  f"{settings.quiet_start}-{settings.quiet_end}",
                                  "move those times, or change quiet_start/quiet_end")
        if settings.mode == "windows":
            width = layout.window_width(self._spans(self.period_of(REFERENCE_WEEK)), self._count)
            if width < 2 * timedelta(minutes=settings.grace_min):
                raise ConfigError(
                    "[checkin] the quiet hours leave too little of the day for the check-ins: "
                    f"each window would be {width.total_seconds() / 60:.0f} min, less than "
                    "twice grace_min", "shorten the quiet hours, widen day_start-day_end or "
                    "ask for fewer check-ins")

    def slots_on(self, day: date) -> list[Slot]:
        """The slots whose due time falls on local ``day``, in order (a kept day's as kept)."""
        early = timedelta(minutes=self.settings.early_min)
        kept = self.book.kept_slots(day)
        if kept is not None:
            return [Slot(due=s.due, opens=s.due - early, closes=s.closes) for s in kept]
        if self.settings.mode == "times":
            dues = [self._utc(day, t) for t in self._times]
        elif self.settings.mode == "windows":
            dues = self._window_dues(day)
        else:
            dues = []
        grace = timedelta(minutes=self.settings.grace_min)
        return [Slot(due=d, opens=d - early, closes=d + grace) for d in dues]

    def slots_around(self, now: datetime) -> list[Slot]:
        """Slots of the local day before, of and after ``now``, in due order."""
        today = now.astimezone(self.zone).date()
        days = (today - timedelta(days=1), today, today + timedelta(days=1))
        return sorted((s for d in days for s in self.slots_on(d)), key=lambda s: s.due)

    @property
    def _count(self) -> int:
        """Check-ins a period (a day, or a week with ``per_week``)."""
        return self.settings.per_week if self.weekly else self.settings.per_day

    def _spans(self, first: date) -> list[layout.Span]:
        """The period's time a slot's due time may fall in: each day's span, minus quiet hours.

        With quiet hours each span also starts late enough that the slot's opening and the
        wearer's reminder before its due time stay out of them.
        """
        days = 7 if self.weekly else 1
        spans = [span for i in range(days) for span in layout.day_spans(
            first + timedelta(days=i), self._start, self._end, self.quiet, self.zone)]
        if self.quiet is not None:
            lead = timedelta(minutes=max(self.settings.early_min, self.settings.reminder_min))
            spans = [(start + lead, end) for start, end in spans if end - start > lead]
        return layout.usable(spans, timedelta(minutes=self.settings.grace_min))

    def _window_dues(self, day: date) -> list[datetime]:
        first = self.period_of(day)
        if first not in self._dues:
            spans, draws = self._spans(first), self._kept_or_drawn(first)
            # Each prompt lands early enough in its window that the grace period ends inside it.
            grace = timedelta(minutes=self.settings.grace_min)
            self._dues[first] = layout.lay_out(spans, draws, grace) if spans else []
            for old in [d for d in self._dues if d < first - timedelta(days=9)]:
                del self._dues[old]
        return [d for d in self._dues[first] if d.astimezone(self.zone).date() == day]

    def _kept_or_drawn(self, first: date) -> list[float]:
        kept = self.book.draws(first, self.fingerprint)
        if kept is not None and len(kept) == self._count:
            return kept
        draws = [self.rng.random() for _ in range(self._count)]
        self.book.keep_draws(first, self.fingerprint, draws)  # durable before anyone sees them
        return draws

    def _utc(self, day: date, at: time) -> datetime:
        return layout.local_instant(day, at, self.zone)


class ScheduleTracker:
    """Which slots were prompted, satisfied and reported missed, from ``start`` on.

    Done and reported slots are settled in the schedule's book, so a restart remembers them.
    Published slots that closed unsettled between the book's last awake mark and ``start`` were
    missed while the unit was off: :meth:`missed_while_off` lists them (reason ``unit_off``).
    """

    def __init__(self, schedule: Schedule, start: datetime) -> None:
        self.schedule = schedule
        self.book = schedule.book
        self._start = start
        self._prompted: set[datetime] = set()
        self._off = self._closed_while_off(start)

    def _closed_while_off(self, start: datetime) -> list[Slot]:
        since = self.book.last_awake
        if since is None:
            return []  # first start: nothing was expected yet
        early = timedelta(minutes=self.schedule.settings.early_min)
        return [Slot(due=p.due, opens=p.due - early, closes=p.closes)
                for p in self.book.published_slots() if since < p.closes <= start]

    def slot_at(self, when: datetime) -> Slot | None:
        """The slot a check-in at ``when`` answers (the first whose window holds it), if any."""
        return next((s for s in self.schedule.slots_around(when) if s.contains(when)), None)

    def checked_in(self, when: datetime) -> Slot | None:
        """Note a check-in at ``when``; returns the slot it satisfied, if any."""
        slot = self.slot_at(when)
        if slot is not None:
            self.book.settle(slot.due)
        return slot

    def prompt_due(self, now: datetime) -> Slot | None:
        """The open, unsatisfied slot whose due time has come and was not prompted yet."""
        for slot in self._live(now):
            if slot.due <= now < slot.closes and slot.due not in self._prompted:
                self._prompted.add(slot.due)
                return slot
        return None

    def missed(self, now: datetime) -> list[Slot]:
        """Slots that closed without a check-in and are not yet :meth:`reported`."""
        return [s for s in self._live(now) if s.closes <= now and s.closes > self._start]

    def missed_while_off(self) -> list[Slot]:
        """Published slots that closed while the unit was off, not yet :meth:`reported`."""
        return [s for s in self._off if not self.book.is_settled(s.due)]

    def reported(self, slot: Slot) -> None:
        """Note that ``slot``'s miss is recorded (call only after its event is committed)."""
        self.book.settle(slot.due)

    def unpublished(self, now: datetime) -> list[tuple[date, list[Slot]]]:
        """The slots of today's and tomorrow's periods (local days, or weeks with
        ``per_week``) not yet published as a ``schedule`` event, by the period's first day."""
        today = now.astimezone(self.schedule.zone).date()
        firsts = dict.fromkeys(self.schedule.period_of(d) for d in (today, today + timedelta(1)))
        fingerprint = self.schedule.fingerprint
        return [(first, slots) for first in firsts
                if (slots := self.schedule.period_slots(first))
                and not self.book.is_published(first, fingerprint)
                and not self._kept_day(first)]

    def _kept_day(self, first: date) -> bool:
        """A day kept as published by :meth:`change_settings` (a week is published again)."""
        return not self.schedule.weekly and self.book.kept_slots(first) is not None

    def published(self, day: date, slots: list[Slot]) -> None:
        """Note ``day``'s slots as published (call only after the event is committed)."""
        self.book.mark_published(day, self.schedule.fingerprint,
                                 [PublishedSlot(s.due, s.closes) for s in slots])

    def change_settings(self, settings: CheckinSettings, now: datetime) -> date:
        """Follow ``settings`` from the next local day on; today's slots stay as they are.

        Returns the first day drawn under the new settings (ConfigError if they are unusable).
        """
        new = Schedule(settings, self.schedule.rng, self.book)
        today = now.astimezone(self.schedule.zone).date()
        self.book.keep_day(today, [PublishedSlot(s.due, s.closes)
                                   for s in self.schedule.slots_on(today)])
        self.schedule = new
        return today + timedelta(days=1)

    def awake(self, now: datetime) -> None:
        """Mark everything up to ``now`` looked after (a later boot counts misses from here)."""
        self.book.awake(now)

    def next_wake(self, now: datetime) -> datetime | None:
        """When something is next due: a prompt or a slot closing (None: nothing scheduled)."""
        moments: Iterable[datetime] = (
            moment
            for slot in self._live(now)
            for moment in (slot.due, slot.closes)
            if moment > now
        )
        return min(moments, default=None)

    def _live(self, now: datetime) -> list[Slot]:
        return [s for s in self.schedule.slots_around(now) if not self.book.is_settled(s.due)]


def schedule_details(schedule: Schedule, day: date, slots: list[Slot]) -> dict[str, str | int]:
    """The ``schedule`` event's details: the local day (a week's Monday, ``period: week``)
    and each due time with its UTC offset (a week's with its date too)."""
    local = (s.due.astimezone(schedule.zone) for s in slots)
    found: dict[str, str | int] = {
        "day": day.isoformat(), "mode": schedule.settings.mode,
        "timezone": schedule.settings.timezone[:64], "slots": len(slots),
        "due": ",".join(t.isoformat() if schedule.weekly else t.isoformat()[11:] for t in local)}
    if schedule.weekly:
        found["period"] = "week"
    if schedule.quiet is not None:
        found["quiet"] = f"{schedule.settings.quiet_start}-{schedule.settings.quiet_end}"
    return found


def _fingerprint(settings: CheckinSettings) -> str:
    """Digest of the settings that shape a day's slots: other settings keep the draws."""
    shape: list[object] = [settings.mode, list(settings.times), settings.per_day,
                           settings.day_start, settings.day_end, settings.early_min,
                           settings.grace_min, settings.timezone]
    if settings.per_week or settings.quiet_start or settings.quiet_end:
        # Only when set: the draws of units that use neither are kept across this firmware.
        shape += [settings.per_week, settings.quiet_start, settings.quiet_end]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]
