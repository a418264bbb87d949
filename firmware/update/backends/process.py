"""The daemon as a plain process the installer starts itself (bench units, tests).

The process gets ``NOTIFY_SOCKET`` pointing at a datagram socket in the update root, the same
protocol systemd uses: healthy means ``READY=1`` arrived, no ``STATUS=SAFE MODE...`` followed,
and the process is still alive ``settle_s`` seconds later. Its pid is kept in ``daemon.pid`` so
the next restart (even by another installer run) stops it first.
"""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from firmware.update.base import Health, UpdateError

logger = logging.getLogger(__name__)
SAFE_MODE_PREFIX = "SAFE MODE"


@dataclass(frozen=True)
class Config:
    """The daemon's command line (``{current}`` is the current slot) and the update root."""

    command: tuple[str, ...]
    root: Path
    settle_s: float = 1.0
    stop_timeout_s: float = 10.0


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie nobody reaps (its parent was killed) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class ProcessService:
    """Starts the daemon as a child in its own session and watches its notify datagrams."""

    name = "process"

    def __init__(self, config: Config) -> None:
        self._config = config
        self._socket: socket.socket | None = None
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def _pid_file(self) -> Path:
        return self._config.root / "daemon.pid"

    def _stop_old(self) -> None:
        try:
            pid = int(self._pid_file.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + self._config.stop_timeout_s
            while time.monotonic() < deadline:
                if self._child is not None and self._child.pid == pid:
                    if self._child.poll() is not None:
                        return
                elif not _alive(pid):
                    return
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)

    def _bind(self) -> str:
        path = self._config.root / "notify.sock"
        path.unlink(missing_ok=True)
        if self._socket is not None:
            self._socket.close()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.bind(str(path))
        return str(path)

    def restart(self) -> None:
        """Stop the recorded daemon, then start the command from the current slot."""
        self._stop_old()
        current = str(self._config.root / "current")
        command = [part.replace("{current}", current) for part in self._config.command]
        env = {**os.environ, "NOTIFY_SOCKET": self._bind()}
        try:
            self._child = subprocess.Popen(command, env=env, start_new_session=True,
                                           stdin=subprocess.DEVNULL)
        except OSError as err:
            raise UpdateError("service", f"cannot start {command[0]}: {err.strerror}",
                              "check the daemon command of the process service") from err
        self._pid_file.write_text(str(self._child.pid), encoding="ascii")

    def _datagrams(self, until: float) -> list[str]:
        assert self._socket is not None
        self._socket.settimeout(max(0.01, min(0.2, until - time.monotonic())))
        try:
            data = self._socket.recv(4096)
        except TimeoutError:
            return []
        return data.decode("utf-8", errors="replace").splitlines()

    def wait_healthy(self, timeout_s: float) -> Health:
        """READY=1 within ``timeout_s``, not in safe mode, alive ``settle_s`` later."""
        if self._child is None or self._socket is None:
            return Health(False, "the daemon was not started")
        deadline = time.monotonic() + timeout_s
        ready_at: float | None = None
        status = ""
        while time.monotonic() < deadline:
            code = self._child.poll()
            if code is not None:
                return Health(False, f"the daemon exited with {code} ({status or 'no status'})")
            for field in self._datagrams(deadline):
                ready_at = time.monotonic() if field == "READY=1" and ready_at is None else ready_at
                status = field[len("STATUS="):] if field.startswith("STATUS=") else status
            if status.startswith(SAFE_MODE_PREFIX):
                return Health(False, f"the daemon is in safe mode: {status}")
            if ready_at is not None and time.monotonic() - ready_at >= self._config.settle_s:
                return Health(True, status or "ready")
        return Health(False, f"no READY=1 from the daemon within {timeout_s:.0f} s")

    def stop(self) -> None:
        """Stop the daemon this service started (tests and benches clean up with it)."""
        self._stop_old()
        self._pid_file.unlink(missing_ok=True)
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def create(config: Config) -> ProcessService:
    """The plain-process service manager."""
    return ProcessService(config)
