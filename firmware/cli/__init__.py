"""``fieldcheck-device``: the device daemon and its tools, one sub-command module per area."""

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from firmware.errors import DeviceError

# Each module defines register(subparsers) and sets a ``func(args) -> int`` default on its parsers.
COMMAND_MODULES: tuple[str, ...] = (
    "firmware.cli.run",
    "firmware.cli.gps",
    "firmware.cli.config",
    "firmware.cli.identity",
    "firmware.cli.records",
    "firmware.cli.face",
    "firmware.cli.checkin",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="fieldcheck-device", description="fieldcheck device daemon and tools"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except DeviceError as err:
        print(f"fieldcheck-device: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
