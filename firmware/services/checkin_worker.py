"""The daemon's check-in thread: scheduled prompts, button presses, missed windows as events.

One thread owns the camera and the face engine (started and stopped with the worker); the
supervisor and other threads only ask for a check-in with :meth:`CheckinWorker.request`.
"""

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from fieldcheck_protocol.clock import Clock
from firmware.core.lifecycle import Lifecycle
from firmware.core.supervisor_event import ButtonEvent, ButtonPress
from firmware.errors import DeviceError
from firmware.services.checkin import CheckinService, FixSource, Receipt, Trigger
from firmware.services.schedule import ScheduleTracker, Slot, schedule_details

logger = logging.getLogger(__name__)

#: Longest the thread sleeps without looking at the schedule (clock changes, late starts).
MAX_WAIT_S = 60.0


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
                 review: ReviewRetention | None = None) -> None:
        self.service = service
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
        """Whether a check-in is running or asked for (a duty-cycled unit stays awake for it)."""
        return self._in_turn or not self._requests.empty()

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
        if trigger is None and self.tracker.prompt_due(now) is not None:
            trigger = "scheduled"
        if trigger is None:
            return None
        self._start_parts()  # a camera or model that failed at boot gets another chance
        answers = self.tracker.slot_at(now)
        receipt = self.service.run(trigger, None if answers is None else answers.due)
        self.tracker.checked_in(now)
        self._on_receipt(receipt)
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
        wake = self.tracker.next_wake(now)
        if wake is None:
            return MAX_WAIT_S
        return min(MAX_WAIT_S, max(0.0, (wake - now).total_seconds()))

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

