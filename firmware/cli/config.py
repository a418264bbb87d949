"""``fieldcheck-device config schema|check``: print the settings schema or validate a file."""

import argparse
from pathlib import Path

from firmware import config


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``config`` command."""
    parser = sub.add_parser("config", help="print the config schema or check a config file")
    cmds = parser.add_subparsers(dest="config_command", required=True)
    schema = cmds.add_parser("schema", help="every setting with its type, default and meaning")
    schema.set_defaults(func=_schema)
    check = cmds.add_parser("check", help="validate a config file and exit non-zero if it is bad")
    check.add_argument("path", type=Path)
    check.set_defaults(func=_check)


def _schema(args: argparse.Namespace) -> int:
    print(config.schema())
    return 0


def _check(args: argparse.Namespace) -> int:
    validation = config.validate(args.path)  # the same call `run` makes
    if not validation.ok:
        count = len(validation.problems)
        print(f"{validation.source}: {count} problem{'s' if count != 1 else ''}")
        for problem in validation.problems:
            print(f"  {problem}")
        return 1
    loaded = validation.config()
    print(f"{loaded.source}: ok (gps: {loaded.gps.backend.name}, sync: "
          f"{loaded.sync.backend.name}, face: {loaded.face.backend.name})")
    return 0
