"""The single-instance lock: one process at a time writes a unit's data directory."""

import fcntl
import logging
import os
from pathlib import Path
from types import TracebackType

from firmware.errors import InstanceLocked

logger = logging.getLogger(__name__)

LOCK_FILE = "fieldcheck.lock"


class InstanceLock:
    """``flock`` on ``data_dir/fieldcheck.lock``, held while the daemon (or a writing command)
    runs; the file holds the holder's pid and purpose so a second process can name it.

    The kernel drops the lock when the holder exits, even after ``kill -9``: no stale locks.
    """

    def __init__(self, data_dir: Path, purpose: str) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> "InstanceLock":
        """Take the lock or raise InstanceLocked naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise InstanceLocked(
                f"{self.path.parent} is in use by {holder}",
                "only one daemon or writing command may use a data directory: stop the other "
                "one first (e.g. `systemctl stop fieldcheck-device`) or wait for it to finish",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.purpose}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "InstanceLock":
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """'pid N (purpose)' from the lock file, or a vaguer phrase when it says nothing yet."""
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    pid, _, purpose = text.partition(" ")
    if not pid.isdigit():
        return "another fieldcheck process"
    return f"another fieldcheck process (pid {pid}, {purpose or 'unknown'})"
