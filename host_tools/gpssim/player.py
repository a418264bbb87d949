"""The player: sends bursts of bytes on a transport at their time, paced to the baud rate."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fieldcheck_protocol.clock import Clock
from host_tools.gpssim.transport import Transport

logger = logging.getLogger(__name__)

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit
LATE_TOLERANCE_S = 0.05  # a burst starting later than this after its time counts as late


@dataclass(frozen=True)
class Burst:
    """The bytes of one epoch and when they start, in simulated seconds after the start."""

    offset: float
    chunks: tuple[bytes, ...]

    @property
    def size(self) -> int:
        """Bytes in the burst."""
        return sum(len(c) for c in self.chunks)


@dataclass
class PlayStats:
    """What the player did."""

    bursts: int = 0
    bytes: int = 0
    late_bursts: int = 0  # bursts that could not go out in time (baud budget or slow host)


class Player:
    """Plays bursts at ``offset / time_scale`` wall seconds after the first one.

    ``wait(seconds)`` sleeps and returns True when a stop was requested, so a signal ends the
    run between two writes; tests pass a fake that advances a ManualClock.
    """

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        wait: Callable[[float], bool],
        baud: int,
        time_scale: float = 1.0,
    ) -> None:
        self.transport = transport
        self.clock = clock
        self.wait = wait
        self.baud = baud
        self.time_scale = time_scale
        self.stats = PlayStats()
        self._warned = False

    def byte_seconds(self, size: int) -> float:
        """Wall time of ``size`` bytes at the baud rate; the wire runs on simulated time too."""
        return size * BITS_PER_BYTE / self.baud / self.time_scale

    def play(self, bursts: Iterable[Burst]) -> bool:
        """Send every burst; True when all were sent, False when stopped early."""
        start = self.clock.monotonic()
        line_free = start  # when the (simulated) UART has finished the previous byte
        previous: Burst | None = None
        for burst in bursts:
            if previous is not None:
                self._check_budget(previous, burst)
            due = start + burst.offset / self.time_scale
            now = self.clock.monotonic()
            if due > now:
                if self.wait(due - now):
                    return False
            elif now - due > LATE_TOLERANCE_S:
                self.stats.late_bursts += 1
            self.transport.service()
            for chunk in burst.chunks:
                self.transport.write(chunk)
                line_free = max(line_free, self.clock.monotonic()) + self.byte_seconds(len(chunk))
                rest = line_free - self.clock.monotonic()
                if rest > 0 and self.wait(rest):
                    return False
            self.stats.bursts += 1
            self.stats.bytes += burst.size
            previous = burst
        return True

    def _check_budget(self, previous: Burst, burst: Burst) -> None:
        period = burst.offset - previous.offset  # simulated seconds, like the wire time
        needed = previous.size * BITS_PER_BYTE / self.baud
        if needed > period > 0 and not self._warned:
            self._warned = True
            logger.warning(
                "an epoch of %d bytes takes %.0f ms at %d baud but epochs come every %.0f ms: "
                "output falls behind, as a real receiver would; lower the rate or the "
                "sentences, or raise --baud",
                previous.size, needed * 1000, self.baud, period * 1000,
            )
