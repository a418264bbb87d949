"""Fuzz harness for the NMEA path: mutated sentences through framer, parser and fix tracker.

An *escape* is anything the live path must never do with hostile input: raise out of
``NmeaReader.feed`` / ``FixTracker.observe`` / ``flush``, or hand on a usable, dated fix that the
record schema refuses (``FixSummary`` raising ``RecordError``: nan altitude, 300 satellites...).
Run: ``python -m firmware.tools.gps_fuzz --inputs 1000000`` (prints one JSON line).
"""

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import FixSummary, RecordError
from firmware.core.fix import Fix, FixType
from firmware.core.nmea import checksum
from firmware.core.tracker import FixTracker
from firmware.gps.reader import NmeaReader
from firmware.tools.gps_bench import synthetic_stream

HOSTILE = (
    "nan", "NaN", "inf", "-inf", "1e309", "-1e309", "99999999999999999999", "-1", "256",
    "", ",", "*", "$", "!", "0", "360.1", "9999999.9", "1_0", "0x1F", "\x00", "ÿ",
    "235960", "999999", "320299", "4807.038", "N", "S", "Z", "-4807.038",
)
EXTRA = (
    b"$PTNL*06", b"$GPZDA,110000.00,01,12,99999999999999999999,00,00*64", b"$", b"$$$$",
    b"$GPGSV,1,1,300*00", b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26",
)
MUTATIONS = ("field", "field", "field", "flip", "insert", "delete", "truncate", "split", "dup")


def _seeds() -> list[bytes]:
    return synthetic_stream(64).splitlines(keepends=False) + list(EXTRA)


def _resum(line: bytes) -> bytes:
    """Give the mutated line a valid checksum, so it reaches the field code."""
    body = line[1:].split(b"*", 1)[0]
    try:
        return b"$" + body + b"*" + checksum(body.decode("ascii")).encode()
    except UnicodeDecodeError:
        return line


def mutate(line: bytes, rng: random.Random) -> bytes:
    """One or more random mutations of ``line``; usually re-checksummed."""
    out = line
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(MUTATIONS)
        if kind == "field":
            parts = out.split(b",")
            parts[rng.randrange(len(parts))] = rng.choice(HOSTILE).encode("latin-1")
            out = b",".join(parts)
        elif kind == "flip" and out:
            i = rng.randrange(len(out))
            out = out[:i] + bytes([rng.randrange(256)]) + out[i + 1 :]
        elif kind == "insert":
            i = rng.randrange(len(out) + 1)
            out = out[:i] + bytes([rng.randrange(256)]) * rng.randint(1, 4) + out[i:]
        elif kind == "delete" and out:
            i = rng.randrange(len(out))
            out = out[:i] + out[i + rng.randint(1, 8) :]
        elif kind == "truncate":
            out = out[: rng.randrange(len(out) + 1)]
        elif kind == "split":
            out = out + b"\r\n" + rng.choice(_SEEDS)
        elif kind == "dup":
            out = out * rng.randint(2, 40)
    return _resum(out) if rng.random() < 0.8 and out.startswith(b"$") else out


_SEEDS = _seeds()


def _recordable(fix: Fix) -> bool:
    """Whether a usable, dated fix passes the record schema (what the ledger will demand)."""
    if not fix.usable or fix.utc is None or fix.latitude is None or fix.longitude is None:
        return True
    try:
        FixSummary(
            lat=fix.latitude, lon=fix.longitude, alt_m=fix.altitude_m,
            mode="3d" if fix.fix_type is FixType.THREE_D else "2d", hdop=fix.hdop,
            sats_used=fix.satellites_used, gps_time=fix.utc, age_s=0.0,
        )
    except RecordError:
        return False
    return True


class _Harness:
    """The live path under test and what escaped it."""

    def __init__(self) -> None:
        self.clock = ManualClock(wall=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
        self.reader = NmeaReader()
        self.tracker = FixTracker(self.clock)
        self.escapes: Counter[str] = Counter()
        self.samples: list[str] = []

    def feed(self, data: bytes, flush: bool) -> None:
        try:
            outputs = [out for obs in self.reader.feed(data) for out in self.tracker.observe(obs)]
            if flush:
                outputs += self.tracker.flush()
                self.clock.advance(1.0)
        except Exception as err:  # noqa: BLE001 - counting escapes is the point of the harness
            self._escaped(type(err).__name__, data)
            self.reader, self.tracker = NmeaReader(), FixTracker(self.clock)
            return
        for out in outputs:
            if isinstance(out, Fix) and not _recordable(out):
                self._escaped("unrecordable_fix", data)

    def _escaped(self, kind: str, data: bytes) -> None:
        self.escapes[kind] += 1
        if len(self.samples) < 5:
            self.samples.append(repr(data[:120]))


def run(inputs: int, seed: int = 1) -> dict[str, Any]:
    """Feed ``inputs`` mutated lines (each between valid epochs' sentences); count escapes."""
    rng = random.Random(seed)
    harness = _Harness()
    start = time.perf_counter()
    for n in range(inputs):
        data = mutate(rng.choice(_SEEDS), rng) + rng.choice((b"\r\n", b"\n", b"\r", b""))
        harness.feed(data, flush=n % 1000 == 999)
    elapsed = time.perf_counter() - start
    counts = harness.reader.counts()
    return {
        "benchmark": "gps_fuzz",
        "inputs": inputs,
        "seed": seed,
        "escapes": sum(harness.escapes.values()),
        "escapes_by_kind": dict(harness.escapes),
        "escape_samples": harness.samples,
        "seconds": round(elapsed, 2),
        "inputs_per_s": round(inputs / elapsed) if elapsed > 0 else None,
        "rejected_by_reason": dict(Counter(counts.rejected).most_common(12)),
        "usable_fixes": harness.tracker.usable_count,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--inputs N --seed S``; prints one JSON line; exit 1 on any escape."""
    parser = argparse.ArgumentParser(prog="gps_fuzz", description=__doc__)
    parser.add_argument("--inputs", type=int, default=1_000_000, help="mutated lines to feed")
    parser.add_argument("--seed", type=int, default=1, help="random seed (repeatable runs)")
    args = parser.parse_args(argv)
    if args.inputs <= 0:
        parser.error("--inputs must be positive, e.g. --inputs 100000")
    result = run(args.inputs, args.seed)
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if result["escapes"] else 0


if __name__ == "__main__":
    sys.exit(main())
