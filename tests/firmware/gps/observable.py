"""Everything the NMEA path lets a caller see, as text lines: the yardstick for fast paths.

Observations (by their field names, whatever class implements them), every Fix field, every
event, and all counters of the framer, parser and tracker (not the framer's ``scanned``, a
measure of its work), over a byte stream fed in a given chunking with the watch's silence
close in between. Two implementations that print the same
lines are the same to everything downstream. ``python -m tests.firmware.gps.observable``
prints the digests of the gpsd corpus (``../shared/nmea-corpus``) and of the fuzz stream, as
stored in ``observable_digests.json``.
"""

import dataclasses
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fieldcheck_protocol.clock import ManualClock
from firmware.core.fix import Fix, GpsEvent
from firmware.core.tracker import FixTracker, TrackerPolicy
from firmware.gps.reader import NmeaReader
from firmware.gps.settings import ReaderSettings
from firmware.tools import gps_fuzz

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "nmea-corpus"
DIGESTS = Path(__file__).with_name("observable_digests.json")
#: Chunk sizes a port may deliver: a byte at a time, odd sizes that split sentences, whole bursts.
CHUNKINGS = (1, 61, 4096)
#: Logs whose receivers print no checksums at all (1990s units).
NO_CHECKSUM = {"gpsd__hp58534a.nmea"}
BUILD_DATE = date(2026, 11, 1)
#: Mutated lines of the fuzz harness in the stream that needs no corpus.
FUZZ_INPUTS = 5000

#: The attributes of each observation type (the names downstream code reads).
OBSERVATION_FIELDS = {
    "Gga": ("talker", "time", "position", "quality", "satellites_used", "hdop", "altitude_m",
            "geoid_separation_m"),
    "Rmc": ("talker", "time", "valid", "position", "speed_knots", "course_deg", "date", "mode",
            "nav_status"),
    "Gsa": ("talker", "fix_mode", "prns", "pdop", "hdop", "vdop", "system"),
    "Gsv": ("talker", "in_view", "prns", "signal_id", "page", "pages"),
    "Vtg": ("talker", "course_deg", "speed_kmh", "mode"),
    "Zda": ("talker", "time", "date"),
    "Gll": ("talker", "time", "valid", "position"),
    "Gns": ("talker", "time", "position", "mode", "satellites_used", "hdop", "altitude_m"),
}


def _value(value: object) -> str:
    """A value's text independent of the class holding it (times and positions by fields)."""
    if hasattr(value, "hour") and hasattr(value, "key"):  # UtcTime
        t: Any = value
        return f"T{t.hour}:{t.minute}:{t.second}.{t.microsecond}"
    if hasattr(value, "latitude") and hasattr(value, "longitude") and not isinstance(value, Fix):
        p: Any = value
        return f"P{p.latitude!r},{p.longitude!r}"
    if isinstance(value, tuple):
        return "(" + ",".join(_value(v) for v in value) + ")"
    return repr(value)


def observation_line(obs: object) -> str:
    """One observation as text: its type and every field."""
    name = type(obs).__name__
    return name + " " + " ".join(
        f"{f}={_value(getattr(obs, f))}" for f in OBSERVATION_FIELDS[name]
    )


def output_line(out: Fix | GpsEvent) -> str:
    """A tracker output as text: every field of a Fix (or an event and its fix)."""
    if isinstance(out, Fix):
        return "Fix " + " ".join(
            f"{f.name}={_value(getattr(out, f.name))}" for f in dataclasses.fields(Fix)
        )
    fix = output_line(out.fix) if out.fix is not None else "None"
    return f"Event {out.kind.value} {out.previous.value}->{out.current.value} " \
           f"at={out.at_mono!r} fix=[{fix}]"


def stream_lines(
    data: bytes, chunk: int, require_checksum: bool = True, backfill: bool = False
) -> Iterator[str]:
    """Feed ``data`` in ``chunk``-byte reads; yield every observation, output and counter."""
    clock = ManualClock(wall=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    settings = ReaderSettings(require_checksum=require_checksum)
    reader = NmeaReader(settings.require_checksum, settings.max_line_length)
    policy = dataclasses.replace(TrackerPolicy(), backfill_dates=backfill)
    # The build date the digests were taken with: a new release's BUILD_DATE changes no digest.
    plausible = dataclasses.replace(settings.plausibility_policy(), build_date=BUILD_DATE)
    tracker = FixTracker(clock, policy, plausible)
    for n, start in enumerate(range(0, len(data), chunk)):
        for obs in reader.feed(data[start : start + chunk]):
            yield observation_line(obs)
            yield from (output_line(out) for out in tracker.observe(obs))
        clock.advance(0.05)
        if n % 7 == 6:  # now and then a pause long enough to close the epoch on silence
            clock.advance(0.5)
        yield from (output_line(out) for out in tracker.idle(settings.epoch_gap_s))
    yield from (output_line(out) for out in tracker.flush())
    yield from (output_line(out) for out in tracker.no_data())
    yield f"counts {reader.counts()!r}"
    yield "tracker " + repr((
        tracker.epochs, tracker.usable_count, tracker.late_sentences,
        sorted(tracker.fixes_by_type.items()), sorted(tracker.flagged.items()),
        sorted(tracker.dates_by_source.items()), sorted(tracker.closed_by.items()),
        tracker.cycle.end, tracker.cycle.first, tracker.cycle.unlearned, tracker.state.value,
        tracker.clock_offset_s,
    ))


def digest(data: bytes, chunk: int, require_checksum: bool = True) -> str:
    """SHA-256 of :func:`stream_lines` (live tracker, and the inspect tool's back-fill)."""
    sha = hashlib.sha256()
    for backfill in (False, True):
        for line in stream_lines(data, chunk, require_checksum, backfill):
            sha.update(line.encode() + b"\n")
    return sha.hexdigest()


def corpus_files() -> list[Path]:
    """The corpus logs and raw streams, in a fixed order."""
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("*.nmea")) + sorted((CORPUS / "raw_mixed").glob("*.raw"))


def fuzz_stream(inputs: int = FUZZ_INPUTS, seed: int = 1) -> bytes:
    """The fuzz harness's mutated lines (hostile fields, binary, splits), one after another."""
    rng = random.Random(seed)
    seeds = gps_fuzz._SEEDS  # the harness's own seed lines
    return b"".join(
        gps_fuzz.mutate(rng.choice(seeds), rng) + rng.choice((b"\r\n", b"\n", b"\r", b""))
        for _ in range(inputs)
    )


def fuzz_digests() -> dict[str, str]:
    """``fuzz-N/chunk`` -> digest of the mutated stream in every chunking."""
    data = fuzz_stream()
    return {f"fuzz-{FUZZ_INPUTS}/{chunk}": digest(data, chunk) for chunk in CHUNKINGS}


def corpus_digests() -> dict[str, str]:
    """``name/chunk`` -> digest for every corpus file and chunking."""
    return {
        f"{path.relative_to(CORPUS)}/{chunk}": digest(
            path.read_bytes(), chunk, path.name not in NO_CHECKSUM
        )
        for path in corpus_files()
        for chunk in CHUNKINGS
    }


if __name__ == "__main__":
    if len(sys.argv) > 1:  # a file: print its lines (to diff two implementations)
        raw = Path(sys.argv[1]).read_bytes()
        for text in stream_lines(raw, int(sys.argv[2]) if len(sys.argv) > 2 else 61):
            sys.stdout.write(text + "\n")
    else:
        found = corpus_digests() | fuzz_digests()
        sys.stdout.write(json.dumps(found, indent=1, sort_keys=True) + "\n")
