"""Two install slots under one root, the ``current`` link, the kept state and the journal.

Layout of the root (``/opt/fieldcheck`` on a unit)::

    slots/a  slots/b     complete installs (bundle files, metadata, venv); a slot folder exists
                         under its final name only once it is complete (staged as slots/.b.new)
    current -> slots/a   the slot the daemon runs from, switched by an atomic rename
    state.json           what the unit has accepted: counter, root version, committed slot
    journal.json         present only while an install or rollback is under way

Every file is written to a scratch name, fsynced and renamed, then its folder is fsynced.
"""

import contextlib
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from firmware.update.base import UpdateError

logger = logging.getLogger(__name__)
SLOT_NAMES = ("a", "b")
#: Present under the root only while an install or rollback is under way (health check included).
JOURNAL_FILE = "journal.json"


@dataclass(frozen=True)
class State:
    """The unit's kept update state: highest counter and root version, committed slot."""

    counter: int = 0
    root_version: int = 0
    slot: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Journal:
    """An install under way: which slot is tried, which one to go back to, and how far it got."""

    phase: str  # "staging" | "trial"
    target: str
    previous: str | None
    counter: int
    root_version: int
    version: str


def fsync_dir(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Replace ``path`` atomically and durably with ``value`` as JSON."""
    scratch = path.with_name(f".{path.name}.tmp")
    with scratch.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(scratch, path)
    fsync_dir(path.parent)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        value = json.loads(text)
    except ValueError as err:
        raise UpdateError("corrupt", f"{path} is not JSON: {err}",
                          f"inspect {path}; `fieldcheck-device update status` shows the slots"
                          ) from None
    if not isinstance(value, dict):
        raise UpdateError("corrupt", f"{path} does not hold an object", f"inspect {path}")
    return value


class Slots:
    """The slots, link, state and journal under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "slots"
        self.link = root / "current"

    def prepare(self) -> None:
        """Create the root and slots folders if missing."""
        self.folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the update lock: one install, rollback or recovery at a time."""
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UpdateError("busy", f"another update is running in {self.root}",
                                  "wait for it to finish (`fieldcheck-device update status`)"
                                  ) from None
            yield
        finally:
            os.close(fd)

    def path(self, name: str) -> Path:
        """A slot's folder."""
        return self.folder / name

    def staging(self, name: str) -> Path:
        """Where a slot is staged before it gets its final name."""
        return self.folder / f".{name}.new"

    def current(self) -> str | None:
        """The slot ``current`` points at, or None on a unit never installed."""
        try:
            target = os.readlink(self.link)
        except FileNotFoundError:
            return None
        name = Path(target).name
        if name not in SLOT_NAMES:
            raise UpdateError("corrupt", f"{self.link} points at {target}, not a slot",
                              f"point it at slots/a or slots/b: ln -sfn slots/a {self.link}")
        return name

    def inactive(self) -> str:
        """The slot the next install goes into."""
        return "b" if self.current() == "a" else "a"

    def switch(self, name: str | None) -> None:
        """Point ``current`` at slot ``name`` (None: remove it) with one atomic rename."""
        if name is None:
            self.link.unlink(missing_ok=True)
        else:
            scratch = self.root / ".current.new"
            scratch.unlink(missing_ok=True)
            os.symlink(f"slots/{name}", scratch)
            os.replace(scratch, self.link)
        fsync_dir(self.root)
        logger.info("current slot is now %s", name)

    def discard(self, name: str) -> None:
        """Remove a slot and its staging folder (never the current one)."""
        if name == self.current():
            raise UpdateError("busy", f"slot {name} is current; it cannot be discarded")
        for path in (self.staging(name), self.path(name)):
            shutil.rmtree(path, ignore_errors=True)
        fsync_dir(self.folder)

    def state(self) -> State:
        """The kept state (all zero on a unit never updated)."""
        value = _read_json(self.root / "state.json")
        try:
            return State(**value) if value else State()
        except TypeError as err:
            raise UpdateError("corrupt", f"{self.root / 'state.json'} has unknown fields: {err}",
                              "inspect it; it holds the counter the unit has accepted") from None

    def save_state(self, state: State) -> None:
        """Keep the state durably."""
        write_json(self.root / "state.json", asdict(state))

    def journal(self) -> Journal | None:
        """The install under way, if one was cut off or is running."""
        value = _read_json(self.root / JOURNAL_FILE)
        try:
            return Journal(**value) if value else None
        except TypeError as err:
            raise UpdateError("corrupt", f"{self.root / JOURNAL_FILE} has unknown fields: "
                              f"{err}", "inspect it, then remove it and run `update status`"
                              ) from None

    def save_journal(self, journal: Journal) -> None:
        """Record how far the install got, before the step that needs it."""
        write_json(self.root / JOURNAL_FILE, asdict(journal))

    def clear_journal(self) -> None:
        """The install is over (committed or rolled back)."""
        (self.root / JOURNAL_FILE).unlink(missing_ok=True)
        fsync_dir(self.root)
