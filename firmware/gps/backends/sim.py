"""A simulated receiver for the bench: one position, a cold or a hot start, backup power kept.

The bench's duty-cycled unit starts a new daemon at every wake, so the receiver's backup domain
(what makes the next start hot) lives in ``backup_file``: :meth:`SimReceiver.standby` writes the
moment the receiver went to backup power, the next start reads it. Within ``backup_valid_s`` the
first fix comes after ``hot_ttff_s``, otherwise after ``cold_ttff_s``. It prints RMC, GGA and GSA
at ``rate_hz`` in real time, dated by the system clock, as a u-blox receiver would.
"""

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from firmware.core.nmea import build_sentence
from firmware.core.settings import setting
from firmware.gps.base import GpsSource
from firmware.gps.settings import ReaderSettings
from firmware.private_file import replace_private

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config(ReaderSettings):
    """Settings of the simulated receiver (plus the shared reader settings)."""

    latitude: float = setting(47.3769, "simulated position, degrees north (negative: south)")
    longitude: float = setting(8.5417, "simulated position, degrees east (negative: west)")
    rate_hz: float = setting(1.0, "epochs a second")
    cold_ttff_s: float = setting(30.0, "seconds to the first fix after a cold start")
    hot_ttff_s: float = setting(2.0, "seconds to the first fix after backup power (hot start)")
    backup_valid_s: float = setting(
        14400.0, "backup power older than this gives a cold start (ephemeris too old)"
    )
    backup_file: str = setting(
        "", "file that stands for the receiver's backup domain between daemon runs (empty: "
        "none, every start is cold)"
    )


def create(config: Config) -> "SimReceiver":
    """Build the simulated receiver; it powers up on ``start()``."""
    return SimReceiver(config)


def _coord(value: float, degree_digits: int, hemispheres: str) -> str:
    total = round(abs(value) * 60 * 100_000)
    degrees, rest = divmod(total, 60 * 100_000)
    minutes, fraction = divmod(rest, 100_000)
    side = hemispheres[0] if value >= 0 else hemispheres[1]
    return f"{degrees:0{degree_digits}d}{minutes:02d}.{fraction:05d},{side}"


class SimReceiver(GpsSource):
    """A receiver that gets its first fix ``ttff_s`` after power-up."""

    describe = "simulated receiver"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.hot = False
        self.ttff_s = config.cold_ttff_s
        self._began = 0.0
        self._next_epoch = 0.0

    @property
    def _backup(self) -> Path | None:
        return Path(self.config.backup_file) if self.config.backup_file else None

    def _start(self) -> None:
        self.hot = self._was_in_backup()
        self.ttff_s = self.config.hot_ttff_s if self.hot else self.config.cold_ttff_s
        self._began = self._next_epoch = time.monotonic()
        logger.info("simulated receiver: %s start, first fix in %.0f s",
                    "hot" if self.hot else "cold", self.ttff_s)

    def _stop(self) -> None:
        return None

    def _was_in_backup(self) -> bool:
        path = self._backup
        if path is None:
            return False
        try:
            since = float(json.loads(path.read_text(encoding="utf-8"))["standby_at"])
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.warning("simulated receiver: backup file %s unreadable (%s): cold start",
                           path, err)
            return False
        path.unlink(missing_ok=True)  # awake again: the next start needs a new standby
        return 0 <= time.time() - since <= self.config.backup_valid_s

    def standby(self) -> bool:
        """Keep the backup domain (the moment of standby) for the next start."""
        path = self._backup
        if path is None:
            return False
        replace_private(path, json.dumps({"standby_at": time.time()}).encode())
        return True

    def read(self, timeout: float) -> bytes:
        """The next epoch's sentences once it is due (waiting at most ``timeout``)."""
        wait = self._next_epoch - time.monotonic()
        if wait > timeout:
            time.sleep(max(timeout, 0.0))
            return b""
        if wait > 0:
            time.sleep(wait)
        self._next_epoch += 1.0 / max(self.config.rate_hz, 0.1)
        fixed = time.monotonic() - self._began >= self.ttff_s
        return "".join(self._epoch(datetime.now(UTC), fixed)).encode("ascii")

    def _epoch(self, now: datetime, fixed: bool) -> list[str]:
        hms, dmy = f"{now:%H%M%S}.{now.microsecond // 10000:02d}", f"{now:%d%m%y}"
        if not fixed:
            return [build_sentence(f"GPRMC,{hms},V,,,,,,,{dmy},,,N"),
                    build_sentence(f"GPGGA,{hms},,,,,0,00,99.99,,,,,,"),
                    build_sentence("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99")]
        where = (f"{_coord(self.config.latitude, 2, 'NS')},"
                 f"{_coord(self.config.longitude, 3, 'EW')}")
        return [build_sentence(f"GPRMC,{hms},A,{where},0.00,,{dmy},,,A"),
                build_sentence(f"GPGGA,{hms},{where},1,08,0.90,420.0,M,47.0,M,,"),
                build_sentence("GPGSA,A,3,01,03,06,09,12,17,19,22,,,,,1.60,0.90,1.30")]
