"""``fieldcheck``: host tools (GPS simulator, server, technician commands), one module per area."""

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from fieldcheck_cli.args import verbose_everywhere
from fieldcheck_server.errors import ServerError

# Each module defines register(subparsers) and sets a ``func(args) -> int`` default on its parsers.
COMMAND_MODULES: tuple[str, ...] = ("host_tools.gpssim.cli", "fieldcheck_server.cli",
                                     "host_tools.bundle.cli", "host_tools.provision.cli",
                                     "host_tools.unit_bench.cli")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="fieldcheck", description="fieldcheck host tools")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    verbose_everywhere(parser)
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
    except ServerError as err:
        print(f"fieldcheck: error: {err.message}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as err:
        print(f"fieldcheck: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
