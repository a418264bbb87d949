"""The README stands on its own and its command tables list exactly the CLIs' own sub-commands."""

import argparse
import re
from pathlib import Path

import pytest

from firmware.cli import build_parser as device_parser
from host_tools.cli import build_parser as host_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
WORD = re.compile(r"[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*$")


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every runnable command path of an argparse tree, e.g. ``records export``."""
    found: set[str] = set()
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= leaf_commands(child, (*prefix, name))
    return found or {" ".join(prefix)}


def table_commands(heading: str) -> set[str]:
    """The command paths named in the first cell of each row of the table after ``heading``."""
    start = README.index(heading)
    rows = []
    for line in README[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    found: set[str] = set()
    for row in rows[2:]:  # header and rule
        for code in re.findall(r"`([^`]+)`", re.split(r"(?<!\\)\|", row)[1]):
            words: list[list[str]] = []
            for token in code.replace("\\|", "|").split():
                if not WORD.match(token):
                    break
                words.append(token.split("|"))
            paths = [""]
            for options in words:
                paths = [f"{p} {o}".strip() for p in paths for o in options]
            found |= set(paths)
    return found


@pytest.mark.parametrize(("heading", "parser"), [
    ("Device (`fieldcheck-device`", device_parser),
    ("Host (`fieldcheck`", host_parser),
])
def test_command_tables_match_the_clis(heading: str, parser: object) -> None:
    assert callable(parser)
    cli = leaf_commands(parser())
    listed = table_commands(heading)
    assert cli - listed == set(), f"sub-commands missing from the README table: {cli - listed}"
    assert listed - cli == set(), f"README rows for commands that do not exist: {listed - cli}"


def test_readme_points_only_inside_the_repository() -> None:
    assert "../" not in README, "a clone has nothing outside the repository"
    for path in re.findall(r"`((?:docs|deploy|hardware|models|requirements)/[^`\s]+)`", README):
        assert any(REPO.glob(path)), f"README names {path}, which does not exist"


def test_two_commands_set_it_up() -> None:
    assert "make demo" in README and "make test" in README
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
