"""The GPS watch: one thread owns the source, turns bytes into fixes and events, never crashes.

It reopens a vanished port with backoff (logging once when it goes and once when it is back),
warns with what to check when no valid sentence arrives, and keeps a stats snapshot for health
reports. Fixes and events go to callbacks given at construction; they run on the watch thread.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fieldcheck_protocol.clock import Clock
from firmware.core.fix import Fix, GpsEvent, GpsState
from firmware.core.lifecycle import Lifecycle
from firmware.core.tracker import FixTracker, Output
from firmware.core.utc_day import ClockSync
from firmware.errors import DeviceError, GpsError
from firmware.gps.base import GpsSource
from firmware.gps.clock_sync import KernelClockSync
from firmware.gps.reader import NmeaReader, ReaderCounts
from firmware.gps.settings import ReaderSettings

logger = logging.getLogger(__name__)

FixCallback = Callable[[Fix], None]
EventCallback = Callable[[GpsEvent], None]


@dataclass(frozen=True)
class GpsStats:
    """A consistent snapshot of the watch, safe to read from any thread."""

    source: str
    port_open: bool
    state: GpsState
    last_fix: Fix | None
    last_usable_fix: Fix | None
    clock_offset_s: float | None  # GPS UTC minus system clock at the last valid epoch
    seconds_since_sentence: float | None  # None before the first valid sentence
    counts: ReaderCounts
    epochs: int
    fixes_by_type: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    reopens: int = 0
    loop_errors: int = 0


class GpsWatch(Lifecycle):
    """Reads ``source`` on its own thread and hands every epoch's Fix and each event on.

    ``on_fix`` gets every epoch's Fix, flagged ones included (use ``Fix.usable`` to keep only
    good ones), as soon as its epoch is complete; ``on_event`` gets fix acquired/lost/regained
    and other state changes. ``clock_sync`` says when the system clock may date a fix whose
    sentences carry no date (default: ask the kernel).
    """

    def __init__(
        self,
        source: GpsSource,
        clock: Clock,
        on_fix: FixCallback,
        on_event: EventCallback,
        settings: ReaderSettings | None = None,
        read_timeout_s: float = 0.5,
        max_backoff_s: float = 30.0,
        clock_sync: ClockSync | None = None,
    ) -> None:
        settings = settings or ReaderSettings()
        self._source = source
        self._clock = clock
        self._on_fix = on_fix
        self._on_event = on_event
        self._silence_s = settings.silence_warning_s
        self._read_timeout_s = read_timeout_s
        self._max_backoff_s = max_backoff_s
        self._reader = NmeaReader(settings.require_checksum, settings.max_line_length)
        self._tracker = FixTracker(
            clock,
            settings.tracker_policy(),
            settings.plausibility_policy(),
            clock_sync if clock_sync is not None else KernelClockSync(),
        )
        self._epoch_gap_s = settings.epoch_gap_s
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._reopen_at = 0.0
        self._port_lost_at: float | None = None
        self._reopens = 0
        self._loop_errors = 0
        self._started_mono = clock.monotonic()
        self._last_sentence_mono: float | None = None
        self._silent = False
        self._standby_at_stop = False
        #: Whether the receiver was put in backup power when the watch last stopped.
        self.standby_sent = False

    def request_standby(self) -> None:
        """Put the receiver in backup power when the watch stops (the end of a wake)."""
        self._standby_at_stop = True

    @property
    def alive(self) -> bool:
        """Whether the watch thread is running (watched by the daemon)."""
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> GpsStats:
        """Counters by reason, state, last fix and clock offset, as one snapshot."""
        with self._lock:
            tracker = self._tracker
            since = self._last_sentence_mono
            return GpsStats(
                source=self._source.describe,
                port_open=self._source.running,
                state=tracker.state,
                last_fix=tracker.last_fix,
                last_usable_fix=tracker.last_usable,
                clock_offset_s=tracker.clock_offset_s,
                seconds_since_sentence=None if since is None else self._clock.monotonic() - since,
                counts=self._reader.counts(),
                epochs=tracker.epochs,
                fixes_by_type=dict(tracker.fixes_by_type),
                flagged=dict(tracker.flagged),
                reopens=self._reopens,
                loop_errors=self._loop_errors,
            )

    def step(self) -> float:
        """One pass: (re)open if needed, read once, deliver; returns seconds to wait before next."""
        if not self._source.running:
            wait = self._reopen_at - self._clock.monotonic()
            if wait > 0:
                return wait
            try:
                self._source.start()
            except GpsError as err:
                return self._port_failed(err)
            self._port_back()
        try:
            data = self._source.read(self._read_timeout_s)
        except GpsError as err:
            self._source.stop()
            return self._port_failed(err)
        with self._lock:
            outputs = self._process(data)
        self._deliver(outputs)
        return 0.0

    def _process(self, data: bytes) -> list[Output]:
        outputs: list[Output] = []
        before = self._reader.parser.lines - self._reader.parser.rejected.total()
        for obs in self._reader.feed(data):
            outputs += self._tracker.observe(obs)
        outputs += self._tracker.idle(self._epoch_gap_s)  # a burst that ended: its epoch is done
        now = self._clock.monotonic()
        if self._reader.parser.lines - self._reader.parser.rejected.total() > before:
            self._last_sentence_mono = now
            if self._silent:
                self._silent = False
                logger.info("GPS sentences arrive again on %s", self._source.describe)
        elif not self._silent:
            since = self._last_sentence_mono or self._started_mono
            if now - since >= self._silence_s:
                self._silent = True
                self._warn_silence(now - since)
                outputs += self._tracker.no_data()
        return outputs

    def _deliver(self, outputs: list[Output]) -> None:
        for out in outputs:
            try:
                if isinstance(out, Fix):
                    self._on_fix(out)
                else:
                    logger.info(
                        "GPS %s: %s -> %s", out.kind.value, out.previous.value, out.current.value
                    )
                    self._on_event(out)
            except DeviceError as err:
                # One output the consumer could not take (e.g. the store refused a write) must
                # not cost the outputs after it, such as a fix-lost event in the same read.
                self._loop_errors += 1
                logger.error("GPS output not recorded: %s", err)

    def _warn_silence(self, seconds: float) -> None:
        counts = self._reader.counts()
        where = self._source.describe
        if counts.bytes_in == 0:
            logger.warning(
                "no GPS sentence on %s for %.0f s and no bytes at all: check wiring "
                "(receiver TX to Pi RX, power, ground), baud rate, and enable_uart=1 in "
                "config.txt with the serial console disabled",
                where,
                seconds,
            )
        else:
            logger.warning(
                "no valid GPS sentence on %s for %.0f s although bytes arrive (rejected: %s): "
                "check the baud rate matches the receiver, wiring, and enable_uart=1 in config.txt",
                where,
                seconds,
                dict(counts.rejected) or "none",
            )

    def _port_failed(self, err: GpsError) -> float:
        now = self._clock.monotonic()
        self._failures += 1
        delay = min(self._max_backoff_s, 2.0 ** min(self._failures - 1, 10))
        self._reopen_at = now + delay
        if self._port_lost_at is None:
            self._port_lost_at = now
            logger.warning(
                "GPS source unavailable: %s; retrying every %.0f s at most",
                err,
                self._max_backoff_s,
            )
            with self._lock:
                outputs = self._tracker.no_data()
            self._deliver(outputs)
        else:
            logger.debug("GPS source still unavailable: %s", err)
        return delay

    def _port_back(self) -> None:
        self._failures = 0
        if self._port_lost_at is not None:
            away = self._clock.monotonic() - self._port_lost_at
            self._port_lost_at = None
            self._reopens += 1
            logger.info("GPS source %s is back after %.0f s", self._source.describe, away)

    def _run(self) -> None:
        while not self._stop_event.is_set():
            try:
                delay = self.step()
            except Exception:  # top of the supervised loop: bad data must not kill the reader
                logger.exception("GPS watch step failed; continuing")
                self._loop_errors += 1
                delay = 1.0
            if delay > 0 and self._stop_event.wait(delay):
                return

    def _start(self) -> None:
        self._stop_event.clear()
        self._started_mono = self._clock.monotonic()
        self._thread = threading.Thread(target=self._run, name="gps-watch", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=self._read_timeout_s + 5.0)
            self._thread = None
        if self._standby_at_stop and self._source.running:
            self.standby_sent = self._source.standby()
            logger.info("GPS receiver %s in backup power until the next wake: %s",
                        self._source.describe, "yes" if self.standby_sent else "not supported")
        self._source.stop()
