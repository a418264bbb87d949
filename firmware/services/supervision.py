"""Restart budget for supervised components: N restarts a window, then safe mode."""

from collections import deque
from dataclasses import dataclass, field

from fieldcheck_protocol.clock import Clock


@dataclass
class RestartBudget:
    """Allows ``max_restarts`` within ``window_s``; after that, :meth:`allow` says no.

    Mirrors systemd's StartLimitBurst/StartLimitIntervalSec one level down: a component that keeps
    failing puts the daemon in safe mode, where it stops feeding the watchdog so systemd (and,
    beyond its own budget, the supervisor MCU) takes over.
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
