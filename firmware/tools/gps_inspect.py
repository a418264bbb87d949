"""Inspection of a recorded NMEA log: every epoch's Fix (flagged, never dropped) and a summary.

Epochs whose sentences carry no date take it from the last GPS date or, before the first one,
from the first later RMC/ZDA of the log (back-fill); the system clock is never used for a log.
"""

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fieldcheck_protocol.clock import Clock
from firmware.core.fix import Fix
from firmware.core.tracker import FixTracker
from firmware.core.utc_day import NEVER_SYNCED
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
    policy = dataclasses.replace(settings.tracker_policy(), backfill_dates=True)
    tracker = FixTracker(clock, policy, settings.plausibility_policy(), NEVER_SYNCED)
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
        "dates_by_source": dict(sorted(tracker.dates_by_source.items())),
        "cycle_end": tracker.cycle.end[0] if tracker.cycle.end else None,
        "late_sentences": tracker.late_sentences,
        "epochs_closed_by": dict(sorted(tracker.closed_by.items())),
        "final_state": tracker.state.value,
    }


def _emit(outputs: list[Any], on_fix: Callable[[Fix], None]) -> None:
    for out in outputs:
        if isinstance(out, Fix):
            on_fix(out)
