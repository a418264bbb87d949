"""``fieldcheck-device records list|verify|export|bench``: the unit's signed records."""

import argparse
import json
from pathlib import Path

from fieldcheck_protocol.export import Export, encode_export
from fieldcheck_protocol.record import Record, to_json
from fieldcheck_protocol.signature import unverified_record
from firmware.cli import positive_int
from firmware.cli.identity import add_data_dir_arguments, wiring_of
from firmware.errors import StoreError
from firmware.private_file import replace_private
from firmware.tools import store_bench as bench

#: More than any unit retains: ``records export`` writes everything it holds.
EVERYTHING = 2**62


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``records`` command."""
    parser = sub.add_parser("records", help="list, verify or benchmark the signed record store")
    cmds = parser.add_subparsers(dest="records_command", required=True)
    listing = cmds.add_parser("list", help="retained records, oldest first")
    add_data_dir_arguments(listing)
    listing.add_argument("--after", type=int, default=-1, help="only seqs above this")
    listing.add_argument("--limit", type=positive_int, default=50, help="at most this many")
    listing.add_argument("--json", action="store_true",
                         help="JSON lines with every field (full-precision coordinates)")
    listing.set_defaults(func=_list)
    verify = cmds.add_parser("verify", help="integrity check, hash chain and every signature")
    add_data_dir_arguments(verify)
    verify.set_defaults(func=_verify)
    export = cmds.add_parser("export", help="write every retained record to a file a third "
                             "party can verify alone (for a unit that cannot reach its server)")
    add_data_dir_arguments(export)
    export.add_argument("--format", choices=("cose",), default="cose",
                        help="cose: device id, public key and the COSE_Sign1 records (CBOR)")
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument("--force", action="store_true", help="replace an existing --out file")
    export.set_defaults(func=_export)
    bench_cmd = cmds.add_parser("bench", help="records signed+committed per second, bytes/record")
    bench_cmd.add_argument("--count", type=int, default=2000, help="records to append")
    bench_cmd.add_argument("--dir", type=Path, default=Path("."),
                           help="where the scratch store goes; use the data filesystem "
                           "(tmpfs makes fsync free and the figure meaningless)")
    bench_cmd.set_defaults(func=_bench)


def _summary(record: Record) -> str:
    if record.fix is None:
        where = "no fix"
    else:  # ~100 m is enough on a terminal; --json has full precision
        where = f"{record.fix.lat:.3f},{record.fix.lon:.3f} {record.fix.mode}"
    body = " ".join(f"{k}={v}" for k, v in record.body.items() if k != "details")
    return f"{body} [{where}]".strip()


def _list(args: argparse.Namespace) -> int:
    store = wiring_of(args).existing_store()
    try:
        rows = store.records(after=args.after, limit=args.limit)
    finally:
        store.stop()
    for row in rows:
        record = unverified_record(row.cose)
        if args.json:
            print(json.dumps({**to_json(record), "acknowledged": row.acknowledged}))
            continue
        state = "acked" if row.acknowledged else "pending"
        stamp = record.device_time.isoformat(timespec="seconds")
        print(f"{row.seq:>8} {record.kind.value:<8} {stamp} {state:<7} {_summary(record)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    store = wiring_of(args).existing_store()
    try:
        problems = store.problems + store.verify_chain(signatures=True)
        status = store.status()
    finally:
        store.stop()
    print(f"device {status.device_id}: next seq {status.next_seq}, acknowledged up to "
          f"{status.acked_seq}, {status.retained} retained, {status.pending} pending")
    for problem in problems:
        print(f"PROBLEM {problem.code} (first seq {problem.first_seq}, count {problem.count}): "
              f"{problem.message}")
    print("ok" if not problems else f"{len(problems)} problem(s) found")
    return 0 if not problems else 1


def _export(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not args.force:
        raise StoreError(f"{out} already exists", "choose another --out, or pass --force")
    if not out.absolute().parent.is_dir():
        raise StoreError(f"--out {out}: the folder {out.parent} does not exist",
                         "create it first or choose another path")
    wiring = wiring_of(args)
    identity = wiring.identity()
    store = wiring_of(args).existing_store()
    try:
        rows = store.records(after=-1, limit=EVERYTHING)
    finally:
        store.stop()
    data = encode_export(Export(device_id=identity.device_id,
                                public_key=bytes.fromhex(identity.public_key_hex),
                                records=tuple(row.cose for row in rows)))
    replace_private(out, data)
    first = f"seq {rows[0].seq}..{rows[-1].seq}" if rows else "no records"
    print(f"exported {len(rows)} record(s) ({first}) of device {identity.device_id} -> {out} "
          f"({len(data)} bytes, COSE_Sign1 with the device's public key)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise StoreError("--count must be at least 1", "pass --count 1000 or more")
    print(json.dumps(bench.run(args.count, args.dir)))
    return 0
