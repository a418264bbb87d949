"""Inspection of a recorded NMEA log: every epoch's Fix (flagged, never dropped) and a summary."""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fieldcheck_protocol.clock import Clock
from firmware.core.fix import Fix
from firmware.core.tracker import FixTracker
from firmware.gps.reader import NmeaReader
from firmware.gps.settings import ReaderSettings

CHUNK = 65536


def read_chunks(path: Path, size: int = CHUNK) -> Iterable[bytes]:
    """The file's bytes in chunks, as a port would deliver them."""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def inspect_log(
    chunks: Iterable[bytes], settings: ReaderSettings, clock: Clock, on_fix: Callable[[Fix], None]
) -> dict[str, Any]:
    """Run the live reader path over ``chunks``; ``on_fix`` gets each epoch; returns the summary."""
    reader = NmeaReader(settings.require_checksum, settings.max_line_length)
    tracker = FixTracker(clock, settings.tracker_policy(), settings.plausibility_policy())
    for chunk in chunks:
        for obs in reader.feed(chunk):
            _emit(tracker.observe(obs), on_fix)
    _emit(tracker.flush(), on_fix)
    counts = reader.counts()
    return {
        "bytes": counts.bytes_in,
        "lines": counts.lines,
        "sentences_ok": counts.sentences_ok,
        "accepted_by_type": dict(sorted(counts.accepted.items())),
        "ignored_by_type": dict(sorted(counts.ignored.items())),
        "rejected": dict(sorted(counts.rejected.items())),
        "garbage_bytes": counts.garbage_bytes,
        "talkers": dict(sorted(counts.talkers.items())),
        "epochs": tracker.epochs,
        "fixes_by_type": dict(sorted(tracker.fixes_by_type.items())),
        "usable_fixes": tracker.usable_count,
        "flagged": dict(sorted(tracker.flagged.items())),
        "final_state": tracker.state.value,
    }


def _emit(outputs: list[Any], on_fix: Callable[[Fix], None]) -> None:
    for out in outputs:
        if isinstance(out, Fix):
            on_fix(out)
