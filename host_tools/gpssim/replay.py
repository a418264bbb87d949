"""Replay of a recorded NMEA log with its original timing, derived from the sentence timestamps."""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Field index of the UTC time (hhmmss[.sss]) in the sentences that carry one.
TIME_FIELD: dict[str, int] = {
    "GGA": 1, "RMC": 1, "GNS": 1, "ZDA": 1, "GST": 1, "GBS": 1, "GRS": 1, "GLL": 5,
}
MAX_GAP_S = 10.0  # longer silences in a log (receiver off, logger paused) are shortened
DAY_S = 86400.0
_HEADER = re.compile(rb"^\$([A-Z]{2})([A-Z]{3}),")
_TIME = re.compile(r"^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$")


class ReplayError(ValueError):
    """The log cannot be replayed."""


@dataclass(frozen=True)
class LogEpoch:
    """The lines of one recorded epoch and when they start, in log seconds after the first."""

    offset: float
    lines: tuple[bytes, ...]


def sentence_time(line: bytes) -> float | None:
    """Seconds of the UTC day in a timed sentence (GGA, RMC, GLL, ZDA...), else None."""
    match = _HEADER.match(line)
    if match is None:
        return None
    index = TIME_FIELD.get(match[2].decode("ascii"))
    if index is None:
        return None
    fields = line.split(b"*", 1)[0].decode("ascii", "replace").split(",")
    if index >= len(fields):
        return None
    hms = _TIME.match(fields[index])
    if hms is None:
        return None
    hours, minutes, seconds = int(hms[1]), int(hms[2]), float(hms[3])
    if hours > 23 or minutes > 59 or seconds >= 61:
        return None
    return hours * 3600 + minutes * 60 + seconds


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their terminators; bare LF endings become CR LF, as receivers send them."""
    lines = data.splitlines(keepends=True)
    out = []
    for line in lines:
        if line.endswith(b"\r\n"):
            out.append(line)
        else:
            out.append(line.rstrip(b"\r\n") + b"\r\n")
    return out


def split_epochs(data: bytes) -> list[LogEpoch]:
    """Group a log into epochs: a new epoch starts when a timed sentence shows a new time."""
    epochs: list[LogEpoch] = []
    current: list[bytes] = []
    offset = 0.0
    current_time: float | None = None
    for line in split_lines(data):
        stamp = sentence_time(line)
        if stamp is not None and current_time is not None and stamp != current_time:
            epochs.append(LogEpoch(offset, tuple(current)))
            current = []
            offset += _gap(current_time, stamp)
        if stamp is not None:
            current_time = stamp
        current.append(line)
    if current:
        epochs.append(LogEpoch(offset, tuple(current)))
    return epochs


def _gap(previous: float, stamp: float) -> float:
    delta = stamp - previous
    if delta < -DAY_S / 2:
        delta += DAY_S  # the log crossed midnight UTC
    if delta < 0:
        return 0.0  # out-of-order sentences: send at once rather than wait backwards
    if delta > MAX_GAP_S:
        logger.info("log gap of %.0f s shortened to %.0f s", delta, MAX_GAP_S)
        return MAX_GAP_S
    return delta


def load_log(path: Path) -> list[LogEpoch]:
    """Read and split a recorded log; errors say what is wrong with the file."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ReplayError(f"cannot read log {path}: {err.strerror or err}") from err
    epochs = split_epochs(data)
    if not epochs:
        raise ReplayError(f"log {path} is empty; give a file of recorded NMEA sentences")
    return epochs
