"""`fieldcheck person export`: one person's records over a period, for a court or a third party.

The host console acts as an admin (its login name in the audit log), as the other person
commands do.
"""

import argparse
import sys
from pathlib import Path

from fieldcheck_server import export_key
from fieldcheck_server.cli.common import db_of, dir_arg, now_ms, operator, when
from fieldcheck_server.domain import person_export
from fieldcheck_server.domain.roles import cli_principal
from fieldcheck_server.errors import RegistryError
from fieldcheck_server.files import write_private


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
