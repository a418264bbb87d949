"""``fieldcheck-device``: the device daemon and its tools, one sub-command module per area."""

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

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
    verbose_everywhere(parser)
    return parser


def verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``-v`` after any sub-command too (``identity show -v``), not only before it.

    The sub-commands' copies default to SUPPRESS, so they never reset a ``-v`` given earlier.
    """
    for action in parser._actions:  # argparse has no public walk over its sub-parsers
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in action.choices.values():
            if "-v" not in child._option_string_actions:
                child.add_argument("-v", "--verbose", action="store_true",
                                   default=argparse.SUPPRESS, help="debug logging")
            verbose_everywhere(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return guarded(lambda: int(args.func(args)), "fieldcheck-device")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a negative limit must not mean "all")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number: give 1 or more")
    return value


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
