"""A simulated GPS on a pty: a thread writes one RMC+GGA+GSA epoch a second, dated now."""

import os
import threading
import tty
from datetime import UTC, datetime
from pathlib import Path

from firmware.core.nmea import checksum


def epoch_lines(now: datetime) -> bytes:
    """One epoch of a 3D fix near 52.52N 13.40E, with 9 satellites."""
    hms = now.strftime("%H%M%S") + f".{now.microsecond // 10000:02d}"
    bodies = [
        f"GPRMC,{hms},A,5231.2000,N,01324.0000,E,0.1,0.0,{now:%d%m%y},,,A",
        f"GPGGA,{hms},5231.2000,N,01324.0000,E,1,09,0.9,35.0,M,41.0,M,,",
        "GPGSA,A,3,01,03,07,08,11,13,17,19,28,,,,1.5,0.9,1.2",
    ]
    return b"".join(f"${b}*{checksum(b)}\r\n".encode() for b in bodies)


class GpsFeed:
    """The slave end of a pty behind ``link`` (like udev's /dev/fieldcheck-gps); ``silent``
    writes nothing (a disconnected receiver), ``garbage`` writes bytes at the wrong baud."""

    def __init__(self, link: Path, mode: str = "nmea") -> None:
        self.link = link
        self.mode = mode
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        link.symlink_to(os.ttyname(self.slave))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "GpsFeed":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self.slave)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.mode == "nmea":
                os.write(self.master, epoch_lines(datetime.now(UTC)))
            elif self.mode == "garbage":
                os.write(self.master, bytes(range(0x80, 0xF0)))
            self._stop.wait(0.5)
