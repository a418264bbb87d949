"""``fieldcheck-device run``: the device daemon."""

import argparse
from pathlib import Path

from firmware import config
from firmware.app.daemon import Daemon
from firmware.app.wiring import Wiring


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
        "fixes, state changes, events and a final summary (the [ui] report backend)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # Exactly the validation `config check` runs; problems mean safe mode, not an exit.
    validation = config.validate(config.chosen_path(args.config))
    essentials = validation.config() if validation.ok else validation.essentials()
    sink = Wiring(essentials).feedback_sink(args.report)
    return Daemon(validation, sink).run()
