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


#: Framer rejections of bytes that never looked like a sentence.
NOT_NMEA = frozenset({"garbage", "non_ascii", "overlong", "truncated"})


def holds_nmea(summary: dict[str, Any]) -> bool:
    """Whether anything in the log looked like an NMEA sentence (decoded, ignored or refused)."""
    refused = sum(n for reason, n in summary["rejected"].items() if reason not in NOT_NMEA)
    return bool(summary["sentences_ok"] or summary["ignored_by_type"] or refused)


def findings(summary: dict[str, Any]) -> list[str]:
    """What a technician should know about a log that the counts alone do not say."""
    notes: list[str] = []
    if not holds_nmea(summary):
        what = "the file is empty" if summary["bytes"] == 0 else (
            f"{summary['bytes']} bytes, {summary['garbage_bytes']} of them outside any sentence")
        notes.append(f"no NMEA sentence in this file ({what}): is it a raw NMEA log from the "
                     "receiver's serial port?")
        return notes
    if summary["sentences_ok"] == 0 and summary["rejected"].get("checksum_missing"):
        notes.append("the sentences carry no checksum (*hh): an old receiver? "
                     "try --allow-missing-checksum")
        return notes
    if summary["sentences_ok"] == 0:
        kinds = ", ".join(summary["ignored_by_type"]) or "none"
        notes.append(f"no position sentence: only types the reader does not decode ({kinds})")
        return notes
    epochs, usable = summary["epochs"], summary["usable_fixes"]
    if epochs == 0:
        notes.append("NMEA sentences but no position epoch (no GGA, RMC or GLL with a time)")
    elif usable == 0:
        flagged = summary["flagged"]
        if flagged.get("before_build", 0) >= epochs:
            notes.append("no usable fix: every fix is dated before this firmware was built "
                         "(before_build), so the live filters would refuse it: an old log, or a "
                         "receiver with a GPS week-rollover fault; the fixes are printed, flagged")
        elif flagged:
            top = ", ".join(f"{flag} ({count})" for flag, count in
                            sorted(flagged.items(), key=lambda item: -item[1])[:3])
            notes.append(f"no usable fix: the fixes were flagged {top}")
        else:
            notes.append("no usable fix: the receiver never reported a position fix")
    undated = epochs - sum(summary["dates_by_source"].values())
    if epochs and undated:
        notes.append(f"{undated} of {epochs} epochs have no date (no RMC or ZDA in the log)")
    return notes


#: The columns of the human-readable view: heading, width, and how to show a fix's field.
COLUMNS: tuple[tuple[str, int, Callable[[dict[str, Any]], str]], ...] = (
    ("utc", 20, lambda f: (f["utc"] or "-")[:19].replace("T", " ")),
    ("date", 12, lambda f: f["date_source"] or "-"),
    ("fix", 5, lambda f: f["fix"]),
    ("lat", 11, lambda f: "-" if f["lat"] is None else f"{f['lat']:.5f}"),
    ("lon", 11, lambda f: "-" if f["lon"] is None else f"{f['lon']:.5f}"),
    ("alt_m", 8, lambda f: "-" if f["alt_m"] is None else f"{f['alt_m']:.1f}"),
    ("sats", 5, lambda f: "-" if f["sats_used"] is None else str(f["sats_used"])),
    ("hdop", 5, lambda f: "-" if f["hdop"] is None else f"{f['hdop']:.1f}"),
    ("flags", 0, lambda f: ",".join(f["flags"]) or "ok"),
)


def table_header() -> str:
    """The heading line of the fix table."""
    return "".join(name.ljust(width) for name, width, _ in COLUMNS).rstrip()


def table_row(fix: dict[str, Any]) -> str:
    """One fix (``Fix.as_dict()``) as a line of the table."""
    return "".join(show(fix).ljust(width) for _, width, show in COLUMNS).rstrip()


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary for a person: the figures that matter, then the findings."""
    lines = [
        f"file           {summary['file']}",
        f"sentences      {summary['sentences_ok']} accepted of {summary['lines']} lines; "
        f"rejected: {_counts(summary['rejected'])}",
        f"epochs         {summary['epochs']}; fixes by type: {_counts(summary['fixes_by_type'])}",
        f"usable fixes   {summary['usable_fixes']}; flagged: {_counts(summary['flagged'])}",
        f"dates from     {_counts(summary['dates_by_source'])}",
        f"talkers        {_counts(summary['talkers'])}",
    ]
    return lines + [f"note: {note}" for note in findings(summary)]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"
