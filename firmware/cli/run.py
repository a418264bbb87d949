"""``fieldcheck-device run``: the device daemon."""

import argparse
import sys
from pathlib import Path

from firmware import config
from firmware.app import Daemon
from firmware.app.report import Report


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``run`` command."""
    parser = sub.add_parser("run", help="run the device daemon")
    parser.add_argument(
        "--config", type=Path, default=None,
        help=f"config file (TOML); default: {config.DEFAULT_PATH} if it exists, "
        "else the embedded defaults",
    )
    parser.add_argument(
        "--report", default=None, metavar="PATH",
        help="also write what the device sees as JSON lines to PATH ('-' for stdout): "
        "fixes, state changes, events and a final summary",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    loaded = config.load(config.chosen_path(args.config))
    if args.report == "-":
        report = Report(sys.stdout)
    elif args.report:
        report = Report(open(args.report, "a", encoding="utf-8"))  # noqa: SIM115 - closed by Report
    else:
        report = Report(None)
    with report:
        return Daemon(loaded, report).run()
