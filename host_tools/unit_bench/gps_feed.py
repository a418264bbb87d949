"""The simulated receiver the bench feeds the unit from: ``fieldcheck gps-sim --tcp`` on this
machine, which the unit's ``[gps] type = "tcp"`` source connects to (bench config only)."""

import logging
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
#: Simulated seconds the feed runs for at most; the bench stops it long before.
FEED_SECONDS = 3600


class GpsFeedError(Exception):
    """The simulator did not start."""


class SimulatedGps:
    """A ``gps-sim --tcp ADDRESS:0`` process; ``port`` is the one it picked."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> "SimulatedGps":
        self._process = subprocess.Popen(
            [sys.executable, "-m", "host_tools", "gps-sim", "--tcp", f"{self.address}:0",
             "--scenario", "walk", "--duration", str(FEED_SECONDS), "--seed", "7"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "TCP":
            self.__exit__()
            raise GpsFeedError(f"gps-sim did not start a TCP server on {self.address}")
        self.port = int(line[1].rpartition(":")[2])
        logger.debug("gps-sim serving on %s:%s", self.address, self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
