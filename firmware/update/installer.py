"""Install a signed bundle into the inactive slot, switch, health-check, commit or roll back.

Order of one install, each step durable before the next (the journal says how far it got):

1. verify the whole bundle against the pinned root key and the kept state (nothing touched yet)
2. journal ``staging``; write the files into the inactive slot, checking each as it streams;
   make it runnable (venv); mark it ``.complete``
3. journal ``trial``; switch ``current`` to it (atomic rename); restart the daemon; health check
4. healthy: keep the new counter and root version (commit), clear the journal;
   otherwise switch back, restart the previous daemon, clear the journal: rolled back.

A cut-off install is finished deterministically by :meth:`Installer.recover`: ``staging`` discards
the half-written slot (``current`` was never moved), ``trial`` without a commit switches back.
So the unit is always on one complete slot.
"""

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fieldcheck_protocol.bundle import BundleError, Manifest, RootMetadata, Trusted
from fieldcheck_protocol.bundle_archive import MANIFEST_MEMBER, ROOT_MEMBER, read_bundle
from firmware.update.base import Health, ServiceManager, UpdateError
from firmware.update.environment import SlotSetup
from firmware.update.slots import Journal, Slots, State, write_json

logger = logging.getLogger(__name__)
COMPLETE = ".complete"
SLOT_INFO = "slot.json"
#: Called with each step's name as it starts (a technician's progress line; crash tests).
Step = Callable[[str], None]


@dataclass(frozen=True)
class InstallResult:
    """What an install or rollback ended with."""

    outcome: str  # "installed" | "rolled_back"
    version: str
    counter: int
    slot: str | None
    previous: str | None
    detail: str


@dataclass(frozen=True)
class SlotInfo:
    """What a slot holds (``slot.json``)."""

    name: str
    version: str | None
    counter: int | None
    complete: bool


def _quiet(_step: str) -> None:
    pass


class Installer:
    """A/B installs under ``slots`` trusting only the key ``pinned_root()`` reads.

    The key is read when a bundle is checked, so status and recovery work without it.
    """

    def __init__(self, slots: Slots, pinned_root: Callable[[], bytes],
                 service: ServiceManager | None,
                 setup: SlotSetup, now: Callable[[], datetime], health_timeout_s: float = 60.0,
                 step: Step = _quiet) -> None:
        self.slots = slots
        self._root, self._service, self._setup = pinned_root, service, setup
        self._now, self._timeout, self._step = now, health_timeout_s, step

    def verify(self, bundle: Path) -> tuple[RootMetadata, Manifest]:
        """Check a bundle as install would, touching nothing (UpdateError on a refusal)."""
        state = self.slots.state()
        try:
            with bundle.open("rb") as handle:
                opened = read_bundle(handle, self._root(), self._now(),
                                     Trusted(state.root_version, state.counter))
        except BundleError as err:
            raise UpdateError.refused(err) from None
        return opened.root, opened.manifest

    def install(self, bundle: Path, health_check: bool = True) -> InstallResult:
        """Verify, stage, switch, restart, check health; commit or roll back by itself."""
        self.slots.prepare()
        with self.slots.locked():
            return self._install(bundle, health_check)

    def _install(self, bundle: Path, health_check: bool) -> InstallResult:
        self._recover()
        self._step("verify")
        root, manifest = self.verify(bundle)
        previous, target = self.slots.current(), self.slots.inactive()
        journal = Journal("staging", target, previous, manifest.counter, root.version,
                          manifest.version)
        self.slots.save_journal(journal)
        try:
            self._stage(bundle, journal)
        except UpdateError:
            self._recover()  # the half-written slot goes; current never moved
            raise
        self.slots.save_journal(Journal(**{**journal.__dict__, "phase": "trial"}))
        self._step("switch")
        self.slots.switch(target)
        if not health_check or self._service is None:
            return self._commit(journal, "committed without a health check")
        self._step("restart")
        try:
            self._service.restart()
            self._step("health")
            health = self._service.wait_healthy(self._timeout)
        except UpdateError as err:  # the new daemon cannot even be started: same as unhealthy
            health = Health(False, str(err))
        if health.ok:
            return self._commit(journal, health.detail)
        logger.warning("bundle %s failed its health check (%s): rolling back to slot %s",
                       manifest.version, health.detail, previous)
        return self._roll_back(journal, health.detail)

    def _stage(self, bundle: Path, journal: Journal) -> None:
        slot = self.slots.path(journal.target)
        self._step("stage")
        self.slots.discard(journal.target)
        slot.mkdir(parents=True)
        state = self.slots.state()

        def sink(path: str) -> BinaryIO:
            target = slot / path
            target.parent.mkdir(parents=True, exist_ok=True)
            return target.open("wb")

        try:
            with bundle.open("rb") as handle:
                opened = read_bundle(handle, self._root(), self._now(),
                                     Trusted(state.root_version, state.counter), sink)
        except BundleError as err:  # changed since verify: the slot is left to be discarded
            raise UpdateError.refused(err) from None
        (slot / ROOT_MEMBER).write_bytes(opened.root_cose)
        (slot / MANIFEST_MEMBER).write_bytes(opened.manifest_cose)
        self._step("setup")
        self._setup.setup(slot, journal.version)
        write_json(slot / SLOT_INFO, {"version": journal.version, "counter": journal.counter,
                                      "installed_at": self._now().isoformat()})
        os.sync()  # every staged file on disk before the slot is marked complete
        (slot / COMPLETE).touch()
        os.sync()

    def _commit(self, journal: Journal, detail: str) -> InstallResult:
        self._step("commit")
        self.slots.save_state(State(journal.counter, journal.root_version, journal.target,
                                    journal.version))
        self.slots.clear_journal()
        logger.info("installed %s (counter %s) in slot %s", journal.version, journal.counter,
                    journal.target)
        return InstallResult("installed", journal.version, journal.counter, journal.target,
                             journal.previous, detail)

    def _roll_back(self, journal: Journal, detail: str) -> InstallResult:
        self._step("rollback")
        self.slots.switch(journal.previous)
        if journal.previous is not None and self._service is not None:
            try:
                self._service.restart()
                back = self._service.wait_healthy(self._timeout)
            except UpdateError as err:
                back = Health(False, str(err))
            if not back.ok:  # still on the slot that ran before; the supervisor takes it from here
                logger.error("the previous slot %s is not healthy either: %s", journal.previous,
                             back.detail)
        self.slots.clear_journal()
        return InstallResult("rolled_back", journal.version, journal.counter, journal.previous,
                             journal.target, detail)

    def recover(self) -> str | None:
        """Finish an install that was cut off; says what was done (None: nothing to do)."""
        if not self.slots.root.is_dir():
            return None
        with self.slots.locked():
            return self._recover()

    def _recover(self) -> str | None:
        journal = self.slots.journal()
        if journal is None:
            return None
        state = self.slots.state()
        if journal.phase == "trial" and state.slot == journal.target \
                and state.counter == journal.counter:
            self.slots.clear_journal()  # the commit was kept; only the journal was left
            return f"install of {journal.version} had committed; journal cleared"
        if self.slots.current() != journal.previous:
            self.slots.switch(journal.previous)
            if journal.previous is not None and self._service is not None:
                try:
                    self._service.restart()
                except UpdateError as err:  # the slot is back either way; systemd retries
                    logger.error("cannot restart the daemon on slot %s: %s", journal.previous, err)
        if journal.phase == "staging" and journal.target != self.slots.current():
            self.slots.discard(journal.target)  # half-written; a tried slot stays for a look
        self.slots.clear_journal()
        logger.warning("an install of %s was cut off at %s; back on slot %s", journal.version,
                       journal.phase, journal.previous)
        return (f"install of {journal.version} was cut off ({journal.phase}); back on slot "
                f"{journal.previous or '(none)'}")

    def slot_info(self, name: str) -> SlotInfo:
        """What slot ``name`` holds."""
        folder = self.slots.path(name)
        try:
            info = json.loads((folder / SLOT_INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        return SlotInfo(name, info.get("version"), info.get("counter"),
                        (folder / COMPLETE).is_file())

    def rollback(self) -> InstallResult:
        """Go back to the other slot on purpose (a technician's decision), health-checked."""
        self.slots.prepare()
        with self.slots.locked():
            return self._rollback()

    def _rollback(self) -> InstallResult:
        self._recover()
        current = self.slots.current()
        other = self.slots.inactive()
        info = self.slot_info(other)
        if current is None or not info.complete:
            raise UpdateError("no_slot", f"slot {other} holds no complete install to go back to",
                              "install a bundle instead: fieldcheck-device update install FILE")
        state = self.slots.state()
        journal = Journal("trial", other, current, state.counter, state.root_version,
                          info.version or "?")
        self.slots.save_journal(journal)
        self.slots.switch(other)
        if self._service is not None:
            self._service.restart()
            health = self._service.wait_healthy(self._timeout)
            if not health.ok:
                return self._roll_back(journal, health.detail)
        # Counter and root version stay: a later bundle must still be newer than any accepted.
        self.slots.save_state(State(state.counter, state.root_version, other, info.version))
        self.slots.clear_journal()
        return InstallResult("installed", info.version or "?", info.counter or 0, other,
                             current, "rolled back on request")
