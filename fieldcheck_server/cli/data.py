"""`fieldcheck person export` (one person's records over a period, for a court or a third party)
and `fieldcheck retention run` (delete what is past its age, audited).

The host console acts as an admin (its login name in the audit log), as the other person
commands do.
"""

import argparse
import logging
import sys
from pathlib import Path

from fieldcheck_cli.args import positive_int
from fieldcheck_server import export_key
from fieldcheck_server.cli.common import db_of, dir_arg, now_ms, operator, when
from fieldcheck_server.domain import person_export, retention
from fieldcheck_server.domain.roles import cli_principal
from fieldcheck_server.errors import RegistryError
from fieldcheck_server.files import write_private

logger = logging.getLogger(__name__)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the retention sub-commands."""
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="delete records, audit entries and review images past "
                         "their age (run it daily from cron or a timer); audited")
    dir_arg(run)
    run.add_argument("--records-days", type=positive_int, default=None, metavar="N",
                     help="delete records whose device time is older than N days (each "
                     "device's newest record is always kept; default: keep all)")
    run.add_argument("--audit-days", type=positive_int, default=None, metavar="N",
                     help="delete audit entries older than N days (the chain stays checkable "
                     "from the last one deleted; default: keep all)")
    run.add_argument("--keep-images", action="store_true",
                     help="leave review images past their expiry (default: delete them)")
    run.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    run.set_defaults(func=_retention_run)


def _retention_run(args: argparse.Namespace) -> int:
    policy = retention.Policy(args.records_days, args.audit_days, not args.keep_images)
    done = retention.run(db_of(args), cli_principal(operator()), policy, now_ms(),
                         dry_run=args.dry_run)
    verb = "would delete" if done.dry_run else "deleted"
    print(f"{verb} {done.record_count} record(s) of {len(done.records)} device(s), "
          f"{done.audit_entries} audit entr(ies), {done.images} review image(s)"
          + (" (images are not counted in a dry run)" if done.dry_run else ""))
    return 0


def register_person_export(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `person export` to the person commands."""
    out = sub.add_parser("export", help="a person's records over a period: every device they "
                         "wore, only while they wore it, with the keys that check them")
    dir_arg(out)
    out.add_argument("case_number")
    out.add_argument("--since", type=when("--since"), required=True, metavar="TIME",
                     help="from this time (ISO 8601, UTC unless it has an offset)")
    out.add_argument("--until", type=when("--until"), required=True, metavar="TIME",
                     help="up to (not including) this time")
    out.add_argument("--format", choices=person_export.FORMATS, default="json")
    out.add_argument("--out", type=Path, default=None, help="file (default: stdout; not for "
                     "cose)")
    out.set_defaults(func=_person_export)


def _person_export(args: argparse.Namespace) -> int:
    if args.format == "cose" and args.out is None:
        raise RegistryError("--format cose writes binary: give --out FILE")
    key = export_key.load_or_create(args.dir)
    data = person_export.person_export(db_of(args), cli_principal(operator()), args.case_number,
                                       args.since, args.until, args.format, key, now_ms())
    if args.out is None:
        text = data.decode("utf-8")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        # Location data: readable by the officer who exported it, nobody else.
        write_private(args.out, data)
    return 0
