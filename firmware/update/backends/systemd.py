"""The daemon as a systemd ``Type=notify`` service: restart, then read its state and status."""

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from firmware.update.base import Health, UpdateError

logger = logging.getLogger(__name__)
SAFE_MODE_PREFIX = "SAFE MODE"


@dataclass(frozen=True)
class Config:
    """Which unit to restart and how long it must stay up to count as healthy."""

    unit: str = "fieldcheck-device.service"
    settle_s: float = 10.0


class SystemdService:
    """``systemctl restart`` (which waits for READY=1), then ``systemctl show`` until settled."""

    name = "systemd"

    def __init__(self, config: Config, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._sleep, self._monotonic = sleep, monotonic

    def _systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(["systemctl", *args], capture_output=True, text=True,
                                  check=False, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise UpdateError("service", f"systemctl {' '.join(args)} failed: {err}",
                              "is this a systemd unit? use --service process on a bench") from err

    def restart(self) -> None:
        """Restart the unit; a failed start is left to :meth:`wait_healthy` to report."""
        done = self._systemctl("restart", self._config.unit)
        if done.returncode != 0:
            logger.warning("systemctl restart %s: %s", self._config.unit, done.stderr.strip())

    def _show(self) -> dict[str, str]:
        done = self._systemctl("show", self._config.unit, "--property",
                               "ActiveState,SubState,StatusText,NRestarts")
        pairs = (line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        return {key: value for key, value in pairs}

    def wait_healthy(self, timeout_s: float) -> Health:
        """Active and running, not in safe mode, and no restart for ``settle_s`` seconds."""
        deadline = self._monotonic() + timeout_s
        since: float | None = None
        restarts = None
        state: dict[str, str] = {}
        while self._monotonic() < deadline:
            state = self._show()
            running = state.get("ActiveState") == "active" and state.get("SubState") == "running"
            safe = state.get("StatusText", "").startswith(SAFE_MODE_PREFIX)
            if safe:
                return Health(False, f"the daemon is in safe mode: {state['StatusText']}")
            if not running:
                since = None
            elif since is None or state.get("NRestarts") != restarts:
                since = self._monotonic()  # (re)started: the settle time counts from here
            elif self._monotonic() - since >= self._config.settle_s:
                return Health(True, state.get("StatusText", "running"))
            restarts = state.get("NRestarts")
            self._sleep(0.5)
        return Health(False, f"not healthy within {timeout_s:.0f} s: {state.get('ActiveState')}/"
                             f"{state.get('SubState')} {state.get('StatusText', '')}".strip())


def create(config: Config) -> SystemdService:
    """The systemd service manager."""
    return SystemdService(config)
