"""SQLite errors as StoreErrors, classified by result code name (``sqlite_errorname``).

The words of SQLite's messages change between versions and locales; the result code names
(SQLITE_FULL, SQLITE_BUSY, SQLITE_READONLY, SQLITE_CANTOPEN, ...) do not. Extended names
(SQLITE_IOERR_WRITE, SQLITE_CANTOPEN_ISDIR) are classified by their primary code.
"""

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from firmware.errors import StoreError

#: What a technician does about each primary SQLite result code ({folder}, {path} filled in).
_HINTS: Mapping[str, str] = {
    "SQLITE_FULL": "the filesystem holding {folder} is full: free space there",
    "SQLITE_BUSY": "another process holds the database: stop it or wait, then retry",
    "SQLITE_LOCKED": "another process holds the database: stop it or wait, then retry",
    "SQLITE_READONLY": "check that the service user owns {folder} and can write it, and that "
                       "the filesystem is mounted read-write",
    "SQLITE_CANTOPEN": "check that {path} is a file (not a folder) and that the service user "
                       "owns {folder} and can write it",
    "SQLITE_PERM": "check that the service user owns {folder} and can write it",
    "SQLITE_IOERR": "the storage under {folder} reports I/O errors: check the SD card or disk",
    "SQLITE_CORRUPT": "keep {path} as evidence and report it; the file is damaged",
    "SQLITE_NOTADB": "{path} is not a record store: move it aside (keep it as evidence)",
}
_OTHER = "keep {path} as evidence and report it; the store may be damaged"


def primary_code(err: sqlite3.Error) -> str:
    """The primary result code name of ``err`` (SQLITE_IOERR_WRITE -> SQLITE_IOERR).

    Errors raised by the sqlite3 module itself (a closed connection, a misuse) carry no name.
    """
    name = getattr(err, "sqlite_errorname", None)
    if not isinstance(name, str) or not name.startswith("SQLITE_"):
        return "SQLITE_UNKNOWN"
    return "_".join(name.split("_")[:2])


def store_error(err: sqlite3.Error, path: Path) -> StoreError:
    """Our error for ``err`` on the store at ``path``, with what a technician should do."""
    code = primary_code(err)
    hint = _HINTS.get(code, _OTHER).format(folder=path.parent, path=path)
    return StoreError(f"record store {path}: {err} ({code})", hint)
