"""`fieldcheck records ...` and `fieldcheck alerts ...`: what the server holds (officers)."""

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_cli.args import positive_int
from fieldcheck_protocol.record import Kind
from fieldcheck_server import export_key
from fieldcheck_server.cli.common import db_of, dir_arg, now_ms, when
from fieldcheck_server.domain import export, record_view
from fieldcheck_server.errors import RegistryError
from fieldcheck_server.files import write_private


def register(parser: argparse.ArgumentParser) -> None:
    """Add the records sub-commands."""
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="one line per record: status, time, what happened "
                             "(event type, check-in verdict), place (rounded to ~100 m)")
    dir_arg(listing)
    listing.add_argument("--device", required=True)
    listing.add_argument("--kind", choices=[k.value for k in Kind], default=None,
                         help="only records of this kind")
    listing.add_argument("--since", type=when("--since"), default=None, metavar="TIME",
                         help="only records at or after this device time (ISO 8601, UTC "
                         "unless it has an offset: 2026-03-01 or 2026-03-01T14:30)")
    listing.add_argument("--until", type=when("--until"), default=None, metavar="TIME",
                         help="only records before this device time")
    listing.add_argument("--limit", type=positive_int, default=None,
                         help="at most this many (default: all), oldest first")
    listing.set_defaults(func=_records_list)
    out = sub.add_parser("export", help="export a device's records")
    dir_arg(out)
    out.add_argument("--device", required=True)
    out.add_argument("--format", choices=sorted(export.FORMATS), default="json")
    out.add_argument("--out", type=Path, default=None, help="file (default: stdout; not for cose)")
    out.set_defaults(func=_records_export)


def register_alerts(parser: argparse.ArgumentParser) -> None:
    """Add the alerts sub-commands."""
    alerts_sub = parser.add_subparsers(dest="action", required=True)
    listing = alerts_sub.add_parser("list", help="newest alerts first")
    dir_arg(listing)
    listing.add_argument("--limit", type=positive_int, default=50, help="at most this many "
                         "(default 50)")
    listing.set_defaults(func=_alerts_list)


def _records_list(args: argparse.Namespace) -> int:
    query = record_view.RecordQuery(kind=Kind(args.kind) if args.kind else None,
                                    since=args.since, until=args.until, limit=args.limit)
    for row in query.select(export.rows(db_of(args), args.device)):
        print(record_view.line(row))
    return 0


def _records_export(args: argparse.Namespace) -> int:
    listing = export.listing(db_of(args), args.device)
    if args.format == "cose":
        if args.out is None:
            raise RegistryError("--format cose writes binary: give --out FILE")
        key = export_key.load_or_create(args.dir)
        write_private(args.out, export.to_cose_bytes(listing, key, now_ms()))
        return 0
    data = export.TEXT_FORMATS[args.format](listing.rows)
    if args.out is None:
        sys.stdout.write(data if data.endswith("\n") else data + "\n")
    else:
        # Location data: readable by the officer who exported it, nobody else.
        write_private(args.out, data.encode("utf-8"))
    return 0


def _alerts_list(args: argparse.Namespace) -> int:
    with db_of(args).read() as tx:
        alerts = tx.alerts(args.limit)
    for alert in alerts:
        when = datetime.fromtimestamp(alert.created_at / 1000, UTC).isoformat(timespec="seconds")
        print(f"{alert.id:>6}  {when}  {alert.device_id or '-'}  {alert.code}: {alert.message}")
    return 0
