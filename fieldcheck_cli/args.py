"""Argument types and parser conventions shared by ``fieldcheck-device`` and ``fieldcheck``."""

import argparse


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a negative limit must not mean "all")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number: give 1 or more")
    return value


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
