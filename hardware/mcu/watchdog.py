"""The Pi's hardware watchdog: power-cycle it after a heartbeat silence; scheduled sleep/wake."""

import ticks

BOOT = 0  # powered, waiting for the first heartbeat (the Pi is booting)
RUNNING = 1  # heartbeats arriving
OFF = 2  # power cut after a silence; restored after off_ms
STOPPING = 3  # the Pi asked to be shut down; power stays on for its halt delay
SLEEP = 4  # powered off on request until the wake time, the button or a tamper

NOTHING = 0
TRIPPED = 1  # power cut because of silence; see last_silence_ms
POWERED_ON = 2  # power restored (after a trip or a sleep)
SLEPT = 3  # power cut on request

MAX_WAKE_MS = 3 * 24 * 3600 * 1000  # tick differences are valid up to ~6 days; stay well inside


class Watchdog:
    """State machine owning the Pi's power switch; ``power`` is the level for the enable pin."""

    def __init__(self, now: int, timeout_ms: int = 120000, boot_grace_ms: int = 180000,
                 off_ms: int = 5000) -> None:
        self.timeout_ms = timeout_ms
        self.boot_grace_ms = boot_grace_ms
        self.off_ms = off_ms
        self.state = BOOT
        self.since = now
        self.last_beat = now
        self.power = True
        self.wake_after_ms = 0
        self.delay_ms = 0
        self.last_silence_ms = 0
        self.trips = 0

    def heartbeat(self, now: int) -> None:
        """A heartbeat arrived from the Pi."""
        if self.state in (BOOT, RUNNING):
            self.state = RUNNING
            self.last_beat = now

    def shutdown(self, now: int, delay_ms: int, wake_after_ms: int) -> None:
        """The Pi is halting: cut power after ``delay_ms``, wake after ``wake_after_ms`` (0: never)."""
        self.state = STOPPING
        self.since = now
        self.delay_ms = delay_ms
        self.wake_after_ms = min(wake_after_ms, MAX_WAKE_MS)

    def wake(self, now: int) -> bool:
        """Button or tamper: power a sleeping Pi now. True if it was asleep."""
        if self.state != SLEEP:
            return False
        self._power_on(now)
        return True

    def poll(self, now: int) -> int:
        """Advance the state machine; returns NOTHING, TRIPPED, POWERED_ON or SLEPT."""
        elapsed = ticks.diff(now, self.since)
        if self.state == BOOT and elapsed > self.boot_grace_ms:
            return self._trip(now)
        if self.state == RUNNING and ticks.diff(now, self.last_beat) > self.timeout_ms:
            return self._trip(now)
        if self.state == OFF and elapsed >= self.off_ms:
            self._power_on(now)
            return POWERED_ON
        if self.state == STOPPING and elapsed >= self.delay_ms:
            self.state = SLEEP
            self.since = now
            self.power = False
            return SLEPT
        if self.state == SLEEP and self.wake_after_ms > 0 and elapsed >= self.wake_after_ms:
            self._power_on(now)
            return POWERED_ON
        return NOTHING

    def _trip(self, now: int) -> int:
        self.last_silence_ms = ticks.diff(now, self.last_beat)
        self.trips += 1
        self.state = OFF
        self.since = now
        self.power = False
        return TRIPPED

    def _power_on(self, now: int) -> None:
        self.state = BOOT
        self.since = now
        self.last_beat = now
        self.power = True
