"""Private files: exact 0600 whatever the umask, never replaced by publish_new, atomic replace."""

import os
import stat
from pathlib import Path

import pytest

from firmware.private_file import publish_new, replace_private


def test_publish_new_is_0600_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        publish_new(tmp_path / "key", b"secret")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600
    assert (tmp_path / "key").read_bytes() == b"secret"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no scratch file left behind


def test_publish_new_never_replaces(tmp_path: Path) -> None:
    publish_new(tmp_path / "key", b"first")
    with pytest.raises(FileExistsError):
        publish_new(tmp_path / "key", b"second")
    assert (tmp_path / "key").read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_replace_private_swaps_the_content(tmp_path: Path) -> None:
    (tmp_path / "template").write_bytes(b"old")
    os.chmod(tmp_path / "template", 0o644)
    replace_private(tmp_path / "template", b"new")
    assert (tmp_path / "template").read_bytes() == b"new"
    assert stat.S_IMODE((tmp_path / "template").stat().st_mode) == 0o600
