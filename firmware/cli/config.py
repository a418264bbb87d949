"""``fieldcheck-device config schema|check``: print the settings schema or validate a file."""

import argparse
from pathlib import Path

from firmware import config
from firmware.config_checks import TFLITE_RUNTIMES


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``config`` command."""
    parser = sub.add_parser("config", help="print the config schema or check a config file")
    cmds = parser.add_subparsers(dest="config_command", required=True)
    schema = cmds.add_parser("schema", help="every setting with its type, default and meaning")
    schema.set_defaults(func=_schema)
    check = cmds.add_parser("check", help="validate a config file and exit non-zero if it is bad")
    check.add_argument("path", type=Path)
    check.add_argument("--for-unit", action="store_true",
                       help="check a unit's file on another machine (a laptop): validate "
                       "everything, and list the runtimes and files the unit must have "
                       "instead of failing because they are missing here")
    check.set_defaults(func=_check)


def _schema(args: argparse.Namespace) -> int:
    print(config.schema())
    return 0


def _check(args: argparse.Namespace) -> int:
    validation = config.validate(args.path, for_unit=args.for_unit)  # the call `run` makes
    if not validation.ok:
        count = len(validation.problems)
        print(f"{validation.source}: {count} problem{'s' if count != 1 else ''}")
        for problem in validation.problems:
            print(f"  {problem}")
        _print_needs(validation.unit_needs)
        return 1
    loaded = validation.config()
    where = " for a unit" if args.for_unit else ""
    print(f"{loaded.source}: ok{where} (gps: {loaded.gps.backend.name}, sync: "
          f"{loaded.sync.backend.name}, face: {loaded.face.backend.name})")
    if args.for_unit:
        print(f"runtimes the unit needs: {', '.join(runtimes_of(loaded))}")
    _print_needs(validation.unit_needs)
    return 0


def runtimes_of(loaded: config.DeviceConfig) -> list[str]:
    """Every importable runtime the configured backends need on the unit (``a|b``: either)."""
    needed: list[str] = []
    for name, _, _ in config.SECTIONS:
        section: config.Section = getattr(loaded, name)
        needed += section.backend.requires
        if name == "face" and section.backend.name == "tflite":
            needed.append("|".join(TFLITE_RUNTIMES[section.config.runtime]))
    return list(dict.fromkeys(needed))


def _print_needs(needs: tuple[str, ...]) -> None:
    if needs:
        print("the unit must have (missing on this machine, so not checked here):")
        for need in needs:
            print(f"  {need}")
