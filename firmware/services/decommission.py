"""Decommissioning a unit: a final upload, a signed ``decommissioned`` event sent last, then the
device key, face template, review images and records erased, each named in the report.

Nothing is erased while records are unacknowledged unless the technician forces it (the count
is said); the server, on storing the ``decommissioned`` event, retires the unit and refuses its
key from then on.
"""

import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fieldcheck_protocol.record_body import DECOMMISSIONED
from fieldcheck_protocol.signature import unverified_record
from firmware.errors import StoreError
from firmware.services.ledger import Appended
from firmware.store.base import RecordStore

logger = logging.getLogger(__name__)

#: Files at most this big are overwritten with zeros (and fsynced) before they are unlinked.
OVERWRITE_MAX_BYTES = 1 << 20


class Recorder(Protocol):
    """The ledger as decommissioning sees it."""

    def event(self, kind: str, details: Mapping[str, Any]) -> Appended:
        """Write and commit a signed event."""
        ...


class DecommissionRefused(StoreError):
    """Decommissioning stopped before anything was erased."""


@dataclass(frozen=True)
class Erasable:
    """One kind of data to erase: a name for the report and its paths (files or folders)."""

    what: str
    paths: tuple[Path, ...]


@dataclass
class Report:
    """What decommissioning did, for the technician."""

    device_id: str
    uploaded: bool = False
    unsent: int = 0
    final_seq: int | None = None
    final_acknowledged: bool = False
    erased: list[tuple[str, int]] = field(default_factory=list)  # (what, files)


#: Pushes what is pending; True when the server acknowledged everything (None: no server).
Upload = Callable[[], bool]


def decommission(store: RecordStore, recorder: Recorder, upload: Upload | None,
                 erase: Sequence[Erasable], force: bool, stop_store: Callable[[], None]) -> Report:
    """Upload, refuse (unless ``force``) while records are unacknowledged, record the final
    signed event, upload it, stop the store and erase; returns what was done."""
    report = Report(device_id=store.status().device_id)
    report.uploaded = upload() if upload is not None else False
    report.unsent = store.status().pending
    _refuse_unless_forced(report, upload is not None, force)
    if not _already_final(store):
        appended = recorder.event(DECOMMISSIONED, {"unsent": report.unsent, "forced": force})
        report.final_seq = appended.record.seq
    report.final_acknowledged = upload() if upload is not None else False
    if not report.final_acknowledged and not force:
        raise DecommissionRefused(
            "the decommissioned record did not reach the server; nothing was erased",
            "run again when the server is reachable (the record is kept and sent then), or add "
            "--force to erase without the server retiring the unit")
    stop_store()
    report.erased = [(item.what, erase_paths(item.paths)) for item in erase]
    return report


def _refuse_unless_forced(report: Report, has_server: bool, force: bool) -> None:
    if force:
        if report.unsent:
            logger.warning("forced: %d unacknowledged record(s) will be erased unsent",
                           report.unsent)
        return
    if not has_server:
        raise DecommissionRefused(
            "no server is configured: it could not learn that this unit is retired, and "
            f"{report.unsent} record(s) would be lost; nothing was erased",
            "configure [sync] and run again, or add --force to erase anyway")
    if report.unsent:
        raise DecommissionRefused(
            f"{report.unsent} record(s) are not acknowledged by the server; nothing was erased",
            "bring the unit online and run again (`fieldcheck-device status` shows the backlog),"
            " or add --force to erase them unsent")


def _already_final(store: RecordStore) -> bool:
    """Whether the newest record is already the decommissioned event (a run cut short)."""
    status = store.status()
    newest = store.records(after=status.next_seq - 2, limit=1)
    if not newest:
        return False
    record = unverified_record(newest[0].cose)
    return record.body.get("type") == DECOMMISSIONED


def erase_paths(paths: Sequence[Path]) -> int:
    """Remove every file (small ones overwritten with zeros first) and folder; returns the
    number of files removed. Missing paths are skipped."""
    count = 0
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            files = [p for p in path.rglob("*") if p.is_file()]
            for file in files:
                _erase_file(file)
            shutil.rmtree(path)
            count += len(files)
        elif path.exists() or path.is_symlink():
            _erase_file(path)
            count += 1
    return count


def _erase_file(path: Path) -> None:
    # Zeros over a key first: on an SD card wear levelling may keep old blocks (SECURITY.md).
    if not path.is_symlink() and path.stat().st_size <= OVERWRITE_MAX_BYTES:
        size = path.stat().st_size
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, b"\0" * size)
            os.fsync(fd)
        finally:
            os.close(fd)
    path.unlink()
    logger.debug("erased %s", path)
