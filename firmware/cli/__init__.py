"""``fieldcheck-device``: the device daemon and its tools, one sub-command module per area."""

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from fieldcheck_cli.args import positive_int, verbose_everywhere
from firmware.errors import DeviceError

__all__ = ["build_parser", "guarded", "main", "positive_int"]

# Each module defines register(subparsers) and sets a ``func(args) -> int`` default on its parsers.
COMMAND_MODULES: tuple[str, ...] = (
    "firmware.cli.run",
    "firmware.cli.gps",
    "firmware.cli.config",
    "firmware.cli.identity",
    "firmware.cli.records",
    "firmware.cli.face",
    "firmware.cli.checkin",
    "firmware.cli.enroll",
    "firmware.cli.status",
    "firmware.cli.selftest",
    "firmware.cli.decommission",
    "firmware.cli.update",
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
    return guarded(lambda: int(args.func(args)), "fieldcheck-device")


def guarded(command: Callable[[], int], prog: str) -> int:
    """Run ``command`` behind the one error boundary of every command.

    Our errors and OS errors (missing file, folder instead of file, no permission, full disk)
    become one line on stderr and exit code 2; a reader that went away (``| head``) ends the
    command quietly; Ctrl-C is exit 130. Bugs still show their traceback.
    """
    try:
        return command()
    except DeviceError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _quiet_exit()
    except OSError as err:
        if err.errno == errno.EPIPE:
            return _quiet_exit()
        print(f"{prog}: error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def describe_os_error(err: OSError) -> str:
    """``cannot open PATH: No such file or directory`` and what to check."""
    where = f" {err.filename}" if err.filename else ""
    hints = {errno.ENOENT: "check the path", errno.EISDIR: "pass a file, not a folder",
             errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.EACCES: "check its permissions", errno.ENOSPC: "free some space"}
    hint = hints.get(err.errno or 0, "")
    text = f"cannot use{where}: {err.strerror or err}"
    return f"{text} ({hint})" if hint else text


def _quiet_exit() -> int:
    """The reader of our output is gone: point stdout at /dev/null so the exit flush is silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0
