"""Replay a recorded NMEA log (bench and tests), at its original timing, scaled, or flat out."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from firmware.core.settings import setting
from firmware.errors import ConfigError, GpsError
from firmware.gps.base import GpsSource
from firmware.gps.settings import ReaderSettings

# The UTC time of the sentences that carry one: an epoch starts when it changes.
_TIME = re.compile(rb"^[$][A-Z]{2}(?:GGA|RMC|ZDA|GNS),(\d{2})(\d{2})(\d{2}(?:\.\d+)?),")
MAX_GAP_S = 10.0  # a long gap in a log (receiver off) is replayed as this at most
DAY_S = 86400.0


@dataclass(frozen=True)
class Config(ReaderSettings):
    """Settings of the replay source (plus the shared reader settings)."""

    path: str = setting("", "recorded NMEA log (raw bytes) to replay; required")
    speed: float = setting(1.0, "1.0 replays the log's own timing, 2.0 twice as fast, 0 flat out")
    loop: bool = setting(False, "start again at the end instead of going quiet")


def create(config: Config) -> "ReplaySource":
    """Build the replay source; the file is read on ``start()``."""
    if not config.path:
        raise ConfigError('[gps] type = "replay" needs a log file', 'set [gps] path = "..."')
    if config.speed < 0:
        raise ConfigError(f"[gps] speed = {config.speed} is negative", "use 0 (flat out) or more")
    return ReplaySource(Path(config.path), config.speed, config.loop)


def segments(data: bytes) -> list[tuple[float, bytes]]:
    """Split a log into ``(seconds from start, bytes)`` pieces, one per epoch of the log."""
    pieces: list[tuple[float, bytes]] = []
    current = bytearray()
    at = 0.0
    last: float | None = None
    for line in data.splitlines(keepends=True):
        found = _TIME.match(line)
        if found:
            hh, mm, ss = found.groups()
            stamp = int(hh) * 3600 + int(mm) * 60 + float(ss)
            if last is not None and stamp != last:
                gap = (stamp - last) % DAY_S  # midnight wraps forward
                pieces.append((at, bytes(current)))
                current = bytearray()
                at += min(gap, MAX_GAP_S)
            last = stamp
        current += line
    if current:
        pieces.append((at, bytes(current)))
    return pieces


class ReplaySource(GpsSource):
    """Hands out a log's bytes when they are due; after the end it goes quiet (or loops)."""

    def __init__(
        self,
        path: Path,
        speed: float = 1.0,
        loop: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.speed = speed
        self.loop = loop
        self.describe = f"replay of {path}"
        self._monotonic = monotonic
        self._sleep = sleep
        self._pieces: list[tuple[float, bytes]] = []
        self._next = 0
        self._origin = 0.0

    @property
    def finished(self) -> bool:
        """Every byte of the log has been handed out (never True when looping)."""
        return self._next >= len(self._pieces)

    def _start(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError as err:
            raise GpsError(f"cannot read GPS log {self.path}: {err}", "check the path") from err
        self._pieces = segments(data)
        self._next = 0
        self._origin = self._monotonic()

    def _stop(self) -> None:
        self._pieces = []
        self._next = 0

    def read(self, timeout: float) -> bytes:
        """The bytes due by now, or wait up to ``timeout`` for the next piece."""
        if self.finished and self.loop and self._pieces:
            self._next = 0
            self._origin = self._monotonic()
        if self.finished:
            self._sleep(timeout)
            return b""
        wait = self._due(self._next) - self._monotonic()
        if wait > 0:
            self._sleep(min(wait, timeout))
        out = bytearray()
        now = self._monotonic()
        while not self.finished and self._due(self._next) <= now:
            out += self._pieces[self._next][1]
            self._next += 1
        return bytes(out)

    def _due(self, index: int) -> float:
        offset = self._pieces[index][0]
        return self._origin + (offset / self.speed if self.speed > 0 else 0.0)
