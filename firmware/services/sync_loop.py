"""The sync loop: push the oldest unacknowledged records in bounded batches, back off on failure."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from firmware.core.lifecycle import Lifecycle
from firmware.errors import SyncError
from firmware.sync.base import (
    PendingStore,
    PinMismatch,
    PushResult,
    SyncRefused,
    SyncTransport,
    SyncUnavailable,
)

logger = logging.getLogger(__name__)


class RandomSource(Protocol):
    """Injected randomness for the jitter (``random.Random`` fits)."""

    def random(self) -> float:
        """A float in [0, 1)."""
        ...


@dataclass(frozen=True)
class SyncPolicy:
    """Batch bounds and retry timing."""

    batch_records: int = 256
    batch_bytes: int = 512 * 1024
    base_delay_s: float = 2.0
    max_delay_s: float = 900.0
    idle_interval_s: float = 60.0


@dataclass
class SyncStatus:
    """What the loop knows, for health reports and the display."""

    failures: int = 0
    acked_seq: int | None = None
    needs_technician: bool = False
    last_error: str = ""


class SyncLoop:
    """Drains the store oldest first; only what the server acknowledged is acknowledged locally."""

    def __init__(
        self,
        store: PendingStore,
        transport: SyncTransport,
        rng: RandomSource,
        policy: SyncPolicy | None = None,
        on_commands: Callable[[tuple[bytes, ...]], object] | None = None,
    ) -> None:
        self._on_commands = on_commands
        self._store = store
        self._transport = transport
        self._rng = rng
        self._policy = policy or SyncPolicy()
        self.status = SyncStatus()

    def backoff(self) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**(failures - 1))]."""
        exponent = min(max(self.status.failures - 1, 0), 30)
        ceiling = min(self._policy.max_delay_s, self._policy.base_delay_s * 2.0**exponent)
        return self._rng.random() * ceiling

    def step(self) -> float:
        """One attempt: push one batch if any is pending; returns seconds until the next."""
        batch = self._store.pending(self._policy.batch_records, self._policy.batch_bytes)
        if not batch and self._on_commands is None:
            return self._policy.idle_interval_s
        try:
            # Nothing pending: an empty batch still asks the server for waiting commands.
            result = self._transport.push([cose for _, cose in batch])
        except (SyncRefused, PinMismatch) as err:
            # Retrying the same request will not change the answer: a technician has to act.
            self._fail(str(err), technician=True)
            logger.error("sync to %s: %s", self._transport.describe, err)
            return self.backoff()
        except SyncUnavailable as err:
            self._fail(str(err), technician=False)
            logger.warning("sync to %s unavailable: %s", self._transport.describe, err)
            return self.backoff()
        return self._settle(batch, result)

    def drain(self, max_batches: int) -> int:
        """Push batches back to back until nothing is pending, a push fails or the budget ends.

        Returns the number of batches the server acknowledged progress on.
        """
        progressed = 0
        for _ in range(max_batches):
            before = self.status.failures
            delay = self.step()
            if self.status.failures > before or delay > 0:
                break
            progressed += 1
        return progressed

    def run(self, wait: Callable[[float], bool]) -> None:
        """Loop until ``wait(seconds)`` returns True (stop requested), e.g. ``Event.wait``."""
        while True:
            try:
                delay = self.step()
            except Exception:  # top of a supervised loop: log, back off, keep the unit syncing
                logger.exception("sync step failed; retrying later")
                self.status.failures += 1
                delay = self.backoff()
            if wait(delay):
                return

    def _settle(self, batch: list[tuple[int, bytes]], result: PushResult) -> float:
        if batch:
            delay = self._acknowledge(batch, result)
        else:
            self.status.failures = 0
            self.status.last_error = ""
            delay = self._policy.idle_interval_s
        if result.commands and self._on_commands is not None:
            # Answered by signed events through the ledger; they go out with the next push.
            self._on_commands(result.commands)
            # Their answers are new records: push them now, unless this push was failing.
            return 0.0 if not batch else delay
        return delay

    def _acknowledge(self, batch: list[tuple[int, bytes]], result: PushResult) -> float:
        if result.rejected:
            # The server kept them as evidence and raised an alert; someone has to look.
            self.status.needs_technician = True
        for rejection in result.rejected:
            logger.error(
                "server refused record seq %s: %s (%s); a technician must check "
                "`fieldcheck alerts list` on the server",
                rejection.seq,
                rejection.code,
                rejection.message,
            )
        last_sent = batch[-1][0]
        acked = result.acked_seq
        if acked is not None:
            # Never acknowledge beyond what this batch carried, whatever the server says.
            acked = min(acked, last_sent)
            self._store.acknowledge(acked)
            self.status.acked_seq = acked
        if acked is not None and acked >= batch[0][0]:
            if self.status.needs_technician and not result.rejected:
                logger.info("sync to %s is making progress again", self._transport.describe)
                self.status.needs_technician = False
            self.status.failures = 0
            self.status.last_error = ""
            return 0.0
        # The server committed nothing of this batch: do not hammer it with the same bytes.
        reason = result.rejected[0].code if result.rejected else "no progress"
        self._fail(f"server acknowledged nothing of the batch ({reason})", bool(result.rejected))
        return self.backoff()

    def _fail(self, message: str, technician: bool) -> None:
        self.status.failures += 1
        self.status.last_error = message
        self.status.needs_technician = self.status.needs_technician or technician


class SyncWorker(Lifecycle):
    """Runs the sync loop on its own thread until stopped."""

    def __init__(self, loop: SyncLoop, transport: SyncTransport) -> None:
        self.loop = loop
        self.transport = transport
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def stop_thread(self) -> None:
        """Stop the background loop but keep the transport open for a final flush."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def alive(self) -> bool:
        """Whether the sync thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        self.transport.start()
        self._stop_event.clear()
        self._thread = threading.Thread(
            target=self.loop.run, args=(self._stop_event.wait,), name="sync", daemon=True
        )
        self._thread.start()

    def _stop(self) -> None:
        self.stop_thread()
        self.transport.stop()

    def final_flush(self) -> None:
        """Stop the background loop, then push what is left once, on the caller's thread."""
        self.stop_thread()
        self.flush()

    def flush(self, max_batches: int = 4) -> None:
        """One last bounded push on the caller's thread (e.g. the shutdown record)."""
        if self.running and not self.alive:
            try:
                self.loop.drain(max_batches)
            except SyncError as err:
                logger.warning("final sync before stopping failed: %s", err)
