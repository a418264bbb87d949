"""The daemon's check-in thread: reminders, prompts, button presses, missed windows as events.

One thread owns the camera and the face engine (started and stopped with the worker); the
supervisor and other threads only ask for a check-in with :meth:`CheckinWorker.request`.

The flow of a scheduled slot: a reminder ``reminder_min`` before its due time, then at the due
time a prompt with a countdown to the window's close; nothing is captured until the wearer
presses the button inside the window (unless ``wait_for_button`` is off). A press outside any
prompt is an on-request check-in. A window that closes unanswered is ``checkin_missed``.
"""

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from fieldcheck_protocol.clock import Clock
from firmware.core.lifecycle import Lifecycle
from firmware.core.supervisor_event import ButtonEvent, ButtonPress
from firmware.errors import DeviceError
from firmware.services.checkin import CheckinService, FixSource, Receipt, Trigger
from firmware.services.schedule import ScheduleTracker, Slot, schedule_details

logger = logging.getLogger(__name__)

#: Longest the thread sleeps without looking at the schedule (clock changes, late starts).
MAX_WAIT_S = 60.0
#: How often the prompt's countdown is redrawn while the window waits for the button.
COUNTDOWN_S = 15.0


class Prompter(Protocol):
    """What the wearer is shown of the flow (``firmware.ui.base.FeedbackSink``)."""

    def reminder(self, due: datetime) -> None:
        """A scheduled check-in is coming at ``due``."""
        ...

    def prompt(self, closes: datetime, first: bool = True) -> None:
        """Check in now, before ``closes``."""
        ...

    def capturing(self) -> None:
        """The capture runs."""
        ...

    def observe(self, kind: str, fields: Mapping[str, Any]) -> None:
        """State for the idle screen (``schedule``: the next due time)."""
        ...


class _Silent:
    """No one to prompt (tests, ``checkin now``)."""

    def reminder(self, due: datetime) -> None:
        return None

    def prompt(self, closes: datetime, first: bool = True) -> None:
        return None

    def capturing(self) -> None:
        return None

    def observe(self, kind: str, fields: Mapping[str, Any]) -> None:
        return None


class ReviewRetention(Protocol):
    """Deletes review images past their retention (``ReviewImages``)."""

    def prune(self, now: datetime) -> int:
        """Delete what expired before ``now``; returns how many; DeviceError on failure."""
        ...


class CheckinWorker(Lifecycle):
    """Runs check-ins on its own thread: when a slot is due, and when asked (button, manual)."""

    def __init__(self, service: CheckinService, tracker: ScheduleTracker, recorder: FixSource,
                 clock: Clock, parts: Sequence[Lifecycle] = (),
                 stop_event: threading.Event | None = None,
                 on_receipt: Callable[[Receipt], None] | None = None,
                 review: ReviewRetention | None = None,
                 feedback: Prompter | None = None) -> None:
        self.service = service
        self.feedback: Prompter = feedback or _Silent()
        #: The prompted slot waiting for the button, and the due times already reminded of.
        self.waiting: Slot | None = None
        self._reminded: set[datetime] = set()
        self.review = review
        self._on_receipt = on_receipt or (lambda receipt: None)
        self.tracker = tracker
        self._recorder = recorder
        self._clock = clock
        self._parts = tuple(parts)
        self._requests: queue.Queue[Trigger | None] = queue.Queue(maxsize=1)
        #: Set on stop; share it with the service's ``sleep`` so a stop cuts a retry wait short.
        self.stop_event = stop_event or threading.Event()
        self._thread: threading.Thread | None = None
        self._in_turn = False

    @property
    def alive(self) -> bool:
        """Whether the check-in thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def busy(self) -> bool:
        """Whether a check-in is running, asked for or prompted and awaiting the wearer's press
        (a duty-cycled unit stays awake for it)."""
        return self._in_turn or not self._requests.empty() or self.waiting is not None

    def request(self, trigger: Trigger) -> bool:
        """Ask for a check-in; False when one is already waiting (presses are not queued up)."""
        try:
            self._requests.put_nowait(trigger)
        except queue.Full:
            return False
        return True

    def on_supervisor(self, event: object) -> None:
        """Supervisor callback: a short button press asks for a check-in."""
        if isinstance(event, ButtonEvent) and event.press is ButtonPress.SHORT:
            self.request("button")

    def step(self, trigger: Trigger | None) -> Receipt | None:
        """Report closed windows, then run the requested or due check-in (one loop turn)."""
        now = self._clock.now()
        self._publish(now)
        for slot in self.tracker.missed_while_off():
            self._missed(slot, "unit_off")
        for slot in self.tracker.missed(now):
            self._missed(slot, "no_checkin")
        self.tracker.awake(now)  # only after the misses up to now are committed
        self._remind(now)
        trigger = self._prompt(now, trigger)
        self._show_next(now)
        if trigger is None:
            return None
        self.feedback.capturing()
        self._start_parts()  # a camera or model that failed at boot gets another chance
        answers = self.tracker.slot_at(now)
        receipt = self.service.run(trigger, None if answers is None else answers.due)
        self.tracker.checked_in(now)
        self._on_receipt(receipt)
        self._show_next(self._clock.now())
        self.prune_review()
        return receipt

    def _publish(self, now: datetime) -> None:
        """Publish today's and tomorrow's slots as signed ``schedule`` events, once each."""
        for day, slots in self.tracker.unpublished(now):
            details = schedule_details(self.tracker.schedule, day, slots)
            logger.info("schedule for %s: %d check-ins", day.isoformat(), len(slots))
            self._recorder.event("schedule", details)
            self.tracker.published(day, slots)  # only now: a failed write is retried

    def _missed(self, slot: Slot, reason: str) -> None:
        logger.warning("scheduled check-in due %s was not done by %s (%s)",
                       slot.due.isoformat(), slot.closes.isoformat(), reason)
        self._recorder.event("checkin_missed", {"due": slot.due.isoformat(),
                                                "closed": slot.closes.isoformat(),
                                                "reason": reason})
        self.tracker.reported(slot)  # only now: a failed write is retried next turn

    def _remind(self, now: datetime) -> None:
        """Remind the wearer once of each slot due within ``reminder_min``."""
        lead = timedelta(minutes=self.service.settings.reminder_min)
        if lead <= timedelta(0):
            return
        for slot in self.tracker.schedule.slots_around(now):
            if slot.due - lead <= now < slot.due and slot.due not in self._reminded:
                self._reminded.add(slot.due)
                self._reminded = {due for due in self._reminded if due > now - lead}
                self.feedback.reminder(slot.due)

    def _prompt(self, now: datetime, trigger: Trigger | None) -> Trigger | None:
        """Open a due slot's prompt; a press inside it answers it; what to run now, if any."""
        if self.waiting is not None and now >= self.waiting.closes:
            self.waiting = None  # unanswered: ``missed`` records it
        due = self.tracker.prompt_due(now)
        if due is not None:
            if not self.service.settings.wait_for_button:
                return trigger or "scheduled"
            self.waiting = due
            self.feedback.prompt(due.closes, first=True)
        elif self.waiting is not None and trigger is None:
            self.feedback.prompt(self.waiting.closes, first=False)  # the countdown
        if trigger == "button" and self.waiting is not None and self.waiting.contains(now):
            self.waiting = None
            return "scheduled"  # the prompted slot, answered by the wearer
        return trigger

    def _show_next(self, now: datetime) -> None:
        """Tell the idle screen when the next check-in is due."""
        upcoming = (s.due for s in self.tracker.schedule.slots_around(now) if s.due > now)
        nxt = min(upcoming, default=None)
        self.feedback.observe("schedule", {"next_due": None if nxt is None else nxt.isoformat()})

    def prune_review(self) -> None:
        """Delete review images past their retention; a failure is logged, retried next time."""
        if self.review is None:
            return
        try:
            self.review.prune(self._clock.now())
        except DeviceError as err:
            logger.error("expired review images were not deleted (retried after the next "
                         "check-in): %s", err)

    def seconds_to_wait(self) -> float:
        """How long the thread may sleep before the schedule needs it again."""
        now = self._clock.now()
        limit = COUNTDOWN_S if self.waiting is not None else MAX_WAIT_S
        moments = [m for m in (self.tracker.next_wake(now), self._next_reminder(now))
                   if m is not None]
        if not moments:
            return limit
        return min(limit, max(0.0, (min(moments) - now).total_seconds()))

    def _next_reminder(self, now: datetime) -> datetime | None:
        lead = timedelta(minutes=self.service.settings.reminder_min)
        if lead <= timedelta(0):
            return None
        times = (s.due - lead for s in self.tracker.schedule.slots_around(now)
                 if s.due - lead > now)
        return min(times, default=None)

    def _start_parts(self) -> None:
        """Start the camera and face engine if they are not running; failures are logged.

        A unit whose camera or model cannot start still tracks GPS and records everything else;
        each check-in then records ``unknown`` with the fault as guidance.
        """
        for part in self._parts:
            if part.running:
                continue
            try:
                part.start()
            except DeviceError as err:
                logger.error("check-ins degraded, %s did not start: %s",
                             type(part).__name__, err)

    def _start(self) -> None:
        self._start_parts()
        self.prune_review()
        self.stop_event.clear()
        self._thread = threading.Thread(target=self._run, name="checkin", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self.stop_event.set()
        try:
            self._requests.put_nowait(None)  # wake the thread at once
        except queue.Full:
            pass
        if self._thread is not None:
            self._thread.join(timeout=30)
            if self._thread.is_alive():
                # One owner per device: never close the camera under a check-in still running.
                logger.error("the check-in thread did not stop within 30 s; leaving the camera "
                             "and face engine to the process exit")
                return
        for part in reversed(self._parts):
            part.stop()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                trigger = self._requests.get(timeout=self.seconds_to_wait())
            except queue.Empty:
                trigger = None
            if self.stop_event.is_set():
                return
            self._in_turn = True  # a shutdown waits for this turn (and its records) to end
            try:
                self.step(trigger)
            except Exception:  # noqa: BLE001 - top of the supervised loop: log, keep serving
                logger.exception("check-in failed without a record; the slot stays open")
            finally:
                self._in_turn = False

