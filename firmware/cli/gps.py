"""``fieldcheck-device gps inspect|bench``: decode a recorded NMEA log; measure the reader."""

import argparse
import json
import sys
from pathlib import Path

from fieldcheck_protocol.clock import SystemClock
from firmware.core.fix import Fix
from firmware.errors import GpsError
from firmware.gps.settings import ReaderSettings
from firmware.tools import gps_bench as bench
from firmware.tools.gps_inspect import (
    findings,
    holds_nmea,
    inspect_log,
    read_chunks,
    summary_lines,
    table_header,
    table_row,
)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``gps`` command."""
    parser = sub.add_parser("gps", help="GPS tools: inspect a recorded log, benchmark the reader")
    cmds = parser.add_subparsers(dest="gps_command", required=True)
    inspect = cmds.add_parser(
        "inspect",
        help="every epoch fix of an NMEA log, then a summary (a table, or JSON lines)",
        description="Decodes every fix it can; fixes the live filters would reject are "
        "printed with their flags (e.g. before_build), not dropped. Exits 1 when the file holds "
        "no NMEA sentence at all.",
    )
    inspect.add_argument("logfile", type=Path, help="raw NMEA log pulled from a unit or receiver")
    inspect.add_argument(
        "--allow-missing-checksum",
        action="store_true",
        help="accept sentences without *hh (old receivers); wrong checksums stay rejected",
    )
    inspect.add_argument(
        "--summary-only", action="store_true", help="print only the final summary line"
    )
    inspect.add_argument(
        "--format", choices=("table", "json"), default=None,
        help="table for a person, JSON lines for a program (default: table on a terminal, "
        "json otherwise)",
    )
    inspect.set_defaults(func=_inspect)
    bench_cmd = cmds.add_parser(
        "bench",
        help="CPU time per sentence: chunked reader path vs pyserial readline()+pynmea2, on a pty",
    )
    bench_cmd.add_argument("--sentences", type=int, default=20000, help="sentences per path")
    bench_cmd.add_argument("--baud", type=int, default=115200, help="baud rate set on the pty")
    bench_cmd.set_defaults(func=_bench)


def _inspect(args: argparse.Namespace) -> int:
    path: Path = args.logfile
    if not path.is_file():
        raise GpsError(f"no log file at {path}", "pass the path of a recorded NMEA log")
    settings = ReaderSettings(require_checksum=not args.allow_missing_checksum)
    table = (args.format or ("table" if sys.stdout.isatty() else "json")) == "table"
    if table and not args.summary_only:
        print(table_header())

    def show(fix: Fix) -> None:
        if not args.summary_only:
            print(table_row(fix.as_dict()) if table else json.dumps(fix.as_dict()))

    summary = {"file": str(path), **inspect_log(read_chunks(path), settings, SystemClock(), show)}
    if table:
        print("\n".join(summary_lines(summary)))
    else:
        print(json.dumps({"summary": {**summary, "notes": findings(summary)}}))
        for note in findings(summary):
            print(f"fieldcheck-device: note: {note}", file=sys.stderr)
    sys.stdout.flush()
    return 0 if holds_nmea(summary) else 1


def _bench(args: argparse.Namespace) -> int:
    if args.sentences <= 0:
        raise GpsError("--sentences must be positive", "e.g. --sentences 20000")
    print(json.dumps(bench.run(args.sentences, args.baud)))
    return 0
