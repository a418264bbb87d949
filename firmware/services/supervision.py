"""Supervision: the restart budget (N restarts a window, then safe mode) and the event pump
that takes supervisor events off the MCU-link thread."""

import logging
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fieldcheck_protocol.clock import Clock
from firmware.core.lifecycle import Lifecycle
from firmware.core.supervisor_event import SupervisorEvent
from firmware.errors import DeviceError

logger = logging.getLogger(__name__)

#: Events held while the pump is busy; beyond this the newest are dropped (and counted).
EVENT_QUEUE_SIZE = 1024
#: Told how many events were dropped since the last report, and of which kinds
#: (``"TamperEvent:2,ButtonEvent:1"``); runs on the pump's thread (it may write a record).
DropReport = Callable[[int, str], object]


@dataclass
class RestartBudget:
    """Allows ``max_restarts`` within ``window_s``; after that, :meth:`allow` says no.

    Mirrors systemd's StartLimitBurst/StartLimitIntervalSec one level down: a component that keeps
    failing puts the daemon in safe mode, which stops GPS and check-ins but keeps the store, the
    MCU link and sync running and keeps feeding the watchdog, so a restart loop cannot take the
    unit's records with it. Only a main loop that hangs stops the pings (systemd, then the MCU).
    """

    clock: Clock
    max_restarts: int = 5
    window_s: float = 60.0
    _times: deque[float] = field(default_factory=deque)

    def allow(self) -> bool:
        """Record a restart attempt now; False when the budget for the window is spent."""
        now = self.clock.monotonic()
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True


class EventPump(Lifecycle):
    """Delivers supervisor events to ``consumers`` on its own thread, in arrival order.

    :meth:`put` is the link's callback: it only enqueues, so nothing on the MCU-link thread
    writes SQLite or waits for a camera (the link must keep answering heartbeats).

    Events dropped from a full queue are counted and, once the pump has room again (and at the
    latest when it stops), handed to ``on_dropped`` so the loss becomes a record, not a log line.
    """

    def __init__(self, consumers: Sequence[Callable[[SupervisorEvent], object]],
                 maxsize: int = EVENT_QUEUE_SIZE, on_dropped: DropReport | None = None) -> None:
        self._consumers = tuple(consumers)
        self._queue: queue.Queue[SupervisorEvent | None] = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        self._on_dropped = on_dropped
        self._lock = threading.Lock()
        self._unreported: Counter[str] = Counter()
        self.dropped = 0

    @property
    def alive(self) -> bool:
        """Whether the delivery thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def put(self, event: SupervisorEvent) -> None:
        """Hand an event over without blocking (the link thread's callback)."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self.dropped += 1
                self._unreported[type(event).__name__] += 1
            logger.error("supervisor event queue full; dropped %s (%d so far)",
                         type(event).__name__, self.dropped)

    def report_dropped(self) -> int:
        """Hand the drops not yet reported to ``on_dropped``; returns how many there were."""
        with self._lock:
            kinds, self._unreported = self._unreported, Counter()
        count = sum(kinds.values())
        if count == 0 or self._on_dropped is None:
            return count
        summary = ",".join(f"{name}:{n}" for name, n in sorted(kinds.items()))
        try:
            self._on_dropped(count, summary)
        except DeviceError as err:
            logger.error("the record of %d dropped supervisor event(s) (%s) could not be "
                         "written: %s", count, summary, err)
        return count

    def pending(self) -> int:
        """Events waiting for delivery."""
        return self._queue.qsize()

    def _deliver(self, event: SupervisorEvent) -> None:
        for consumer in self._consumers:
            try:
                consumer(event)
            except Exception:  # noqa: BLE001 - top of a supervised loop: one event, not the pump
                logger.exception("handling supervisor event %s failed", type(event).__name__)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            self._deliver(event)
            if self._unreported:  # read without the lock: a late drop is seen next round
                self.report_dropped()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor-events", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        try:  # after what is queued: every event is delivered before stopping
            self._queue.put(None, timeout=30)
        except queue.Full:
            logger.error("the supervisor event pump is stuck; %d event(s) not delivered",
                         self.pending())
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.report_dropped()  # what was dropped after the last delivery
