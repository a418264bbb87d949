"""Files only their owner may read (keys, templates), written atomically and durably."""

import os
import secrets
from pathlib import Path

MODE = 0o600


def write_private(path: Path, data: bytes, exclusive: bool = True) -> None:
    """Write ``data`` to ``path`` with mode 0600 exactly, fsynced before returning."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, MODE)
    try:
        os.fchmod(fd, MODE)  # the umask may only narrow the mode; make it exact
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable (the entry is on disk only after this)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scratch(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def publish_new(path: Path, data: bytes) -> None:
    """Create ``path`` (0600) with ``data`` all at once; never replaces an existing file.

    Raises ``FileExistsError`` when ``path`` exists, even if it appeared meanwhile.
    """
    scratch = _scratch(path)
    write_private(scratch, data)
    try:
        os.link(scratch, path)
    finally:
        scratch.unlink()
    fsync_dir(path.parent)


def replace_private(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` (0600) with ``data``: readers see the old or the new bytes."""
    scratch = _scratch(path)
    write_private(scratch, data)
    os.replace(scratch, path)
    fsync_dir(path.parent)
