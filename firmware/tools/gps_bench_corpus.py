"""CPU per sentence of the whole reader path (framer, parser, tracker) over the gpsd corpus.

The pty bench (:mod:`firmware.tools.gps_bench`) reads a synthetic stream whose lines repeat more
than real receivers' do (62.5 % against 46 %); this runs the same reader and tracker over the
recorded logs of ``../shared/nmea-corpus`` (many receivers' quirks, proprietary sentences, a
checksum-less log), fed in memory in 4096-byte reads, so the figure comes from real data (the
port's reads are not in it). ``python -m firmware.tools.gps_bench_corpus`` prints one JSON line.
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

from fieldcheck_protocol.clock import SystemClock
from firmware.core.tracker import FixTracker
from firmware.gps.backends import serial as serial_backend
from firmware.gps.reader import NmeaReader

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "nmea-corpus"
#: The one log whose receiver sends no checksums (read with require_checksum off, as inspect does).
NO_CHECKSUM = "gpsd__hp58534a.nmea"
READ = 4096


def _ours(logs: list[tuple[bool, bytes]]) -> tuple[int, float]:
    """Accepted sentences and CPU seconds of reader + tracker over every log."""
    settings = serial_backend.Config()
    sentences, cpu = 0, 0.0
    for checked, data in logs:
        reader = NmeaReader(checked, settings.max_line_length)
        tracker = FixTracker(SystemClock(), settings.tracker_policy(),
                             settings.plausibility_policy())
        start = time.process_time()
        for at in range(0, len(data), READ):
            for obs in reader.feed(data[at : at + READ]):
                tracker.observe(obs)
        tracker.flush()
        cpu += time.process_time() - start
        sentences += reader.parser.accepted.total()
    return sentences, cpu


def run(corpus: Path = CORPUS, repeats: int = 3) -> dict[str, Any]:
    """The reader over every log ``repeats`` times; the best run (a shared machine)."""
    files = sorted(corpus.glob("*.nmea"))
    if not files:
        raise SystemExit(f"no NMEA logs in {corpus}: put the gpsd corpus there (see its MANIFEST)")
    logs = [(path.name != NO_CHECKSUM, path.read_bytes()) for path in files]
    runs = []
    for _ in range(max(1, repeats)):
        sentences, cpu = _ours(logs)
        runs.append(cpu / max(sentences, 1) * 1e6)
    return {
        "benchmark": "gps_reader_corpus_cpu_per_sentence",
        "logs": len(files),
        "bytes": sum(len(data) for _, data in logs),
        "sentences": sentences,
        "us_per_sentence": round(min(runs), 2),
        "runs_us": [round(v, 2) for v in runs],
        "path": "4096 B reads in memory -> framer -> parser -> tracker",
        "method": f"best of {len(runs)} runs, process CPU time",
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run()) + "\n")
