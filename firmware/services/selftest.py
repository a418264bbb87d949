"""The unit's self-test: a declared list of checks, each pass, fail or skip with what to do.

Every check is a :class:`Check` (a name and a probe). A probe looks at one part (the GPS watch,
the camera, the models, the data folder, the clock, the server, the supervisor link) and returns
a :class:`Finding`: what it saw, what to do when it failed, and flat facts for the signed
``selftest`` event. One failing probe never stops the others. The same probes answer the
server's ``selftest`` command (:func:`firmware.services.commands.selftest_action`).
"""

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from fieldcheck_protocol.clock import Clock
from firmware.errors import DeviceError, SyncError
from firmware.services.gps_watch import GpsWatch
from firmware.store.base import RecordStore

logger = logging.getLogger(__name__)

#: Facts of a finding: flat scalars (the event record's ``details`` rules).
Details = dict[str, str | int | float | bool | None]
#: An event's details key holds at most this many bytes, its map this many entries
#: (fieldcheck_protocol.record's rule for ``details``).
KEY_BYTES = 23
MAX_ENTRIES = 32
#: A clock before this is not set (a Pi has no real-time clock: 1970 or the last shutdown).
CLOCK_FLOOR = datetime(2025, 1, 1, tzinfo=UTC)


class Status(StrEnum):
    """How one check ended."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"  # not applicable on this unit (e.g. no server configured), said why


@dataclass(frozen=True)
class Finding:
    """What one probe saw: ``ok`` None means skipped; ``todo`` says what to do on failure."""

    ok: bool | None
    found: str
    todo: str = ""
    facts: Details = field(default_factory=dict)


class Probe(Protocol):
    """Looks at one part; raises DeviceError (reported as a failure) or returns a Finding."""

    def __call__(self) -> Finding: ...


@dataclass(frozen=True)
class Check:
    """One row of the self-test: a short name (``gps``, ``camera_exposure``) and its probe."""

    name: str
    probe: Probe


@dataclass(frozen=True)
class Row:
    """One check's result, as printed and recorded."""

    name: str
    status: Status
    found: str
    todo: str
    facts: Details


def run_checks(checks: Sequence[Check]) -> list[Row]:
    """Run every check in order; a DeviceError is that check's failure, with its hint."""
    rows = []
    for check in checks:
        try:
            finding = check.probe()
        except DeviceError as err:
            logger.warning("self-test %s failed: %s", check.name, err)
            finding = Finding(False, super(DeviceError, err).__str__(),
                              err.hint or "see the log (journalctl -u fieldcheck-device)")
        status = Status.SKIP if finding.ok is None else Status.PASS if finding.ok else Status.FAIL
        rows.append(Row(check.name, status, finding.found, finding.todo if status is Status.FAIL
                        else "", dict(finding.facts)))
    return rows


def passed(rows: Sequence[Row]) -> bool:
    """Whether no check failed (skipped ones do not count against the unit)."""
    return all(row.status is not Status.FAIL for row in rows)


def details(rows: Sequence[Row]) -> Details:
    """The ``selftest`` event's details: ``passed``, ``failed`` and ``<check>_ok`` (None when
    skipped), then ``<check>_<fact>`` facts in check order while the record's 32 entries
    last; keys cut to its 23 bytes."""
    result: Details = {"passed": passed(rows),
                       "failed": ",".join(r.name for r in rows if r.status is Status.FAIL)[:200]}
    for row in rows:
        result[f"{row.name}_ok"[:KEY_BYTES]] = (None if row.status is Status.SKIP
                                                 else row.status is Status.PASS)
    facts = ((f"{row.name}_{key}"[:KEY_BYTES], value)
             for row in rows for key, value in row.facts.items())
    for key, value in facts:
        if len(result) >= MAX_ENTRIES:
            break
        result.setdefault(key, value)
    return result


def table(rows: Sequence[Row]) -> list[str]:
    """Aligned ``check  PASS|FAIL|skip  found`` lines, each failure followed by what to do."""
    width = max((len(row.name) for row in rows), default=5)
    lines = []
    for row in rows:
        mark = row.status.value.upper() if row.status is not Status.SKIP else "skip"
        lines.append(f"{row.name:<{width}}  {mark:<4}  {row.found}")
        if row.todo:
            lines.append(f"{'':<{width}}        -> {row.todo}")
    failed = [row.name for row in rows if row.status is Status.FAIL]
    lines.append("self-test passed" if not failed else
                 f"self-test FAILED: {', '.join(failed)}")
    return lines


def store_probe(store: RecordStore) -> Probe:
    """The record store: its chain checked (hashes and links) and its counters."""

    def run() -> Finding:
        problems = store.verify_chain(signatures=False)
        status = store.status()
        facts: Details = {"problems": len(problems), "next_seq": status.next_seq,
                          "pending": status.pending, "low": status.storage_low}
        if problems:
            return Finding(False, f"{len(problems)} chain problem(s): {problems[0].code}",
                           "the store keeps them as evidence; report the unit to a technician "
                           "lead (`fieldcheck-device records verify`)", facts)
        return Finding(True, f"chain intact, next seq {status.next_seq}, {status.pending} "
                       "unacknowledged", facts=facts)

    return run


def gps_probe(gps: GpsWatch | None, clock: Clock, baud: int | None = None) -> Probe:
    """The GPS receiver: port open, sentences arriving (at ``baud``), state, fix age."""

    def run() -> Finding:
        if gps is None:
            return Finding(False, "no GPS watch running", "check the [gps] section "
                           "(`fieldcheck-device config check`)", {"state": "off"})
        stats = gps.stats()
        fix = stats.last_usable_fix
        age = None if fix is None else round(clock.monotonic() - fix.received_mono, 1)
        sentences = stats.counts.sentences_ok
        facts: Details = {"state": stats.state.value, "fix_age_s": age, "sentences": sentences,
                          "baud": baud, "bytes": stats.counts.bytes_in}
        where = stats.source
        if baud and "baud" not in where:
            where = f"{where} at {baud} baud"
        if not stats.port_open:
            return Finding(False, f"{where}: port not open", "check the wiring and that the "
                           "port exists (`ls -l /dev/serial0`), enable_uart=1", facts)
        if sentences == 0:
            return Finding(False, f"{where}: {stats.counts.bytes_in} bytes, no valid sentence",
                           _no_sentence_todo(stats.counts.bytes_in), facts)
        return Finding(True, f"{where}: {sentences} sentence(s), state {stats.state.value}",
                       facts=facts)

    return run


def _no_sentence_todo(bytes_in: int) -> str:
    if bytes_in:
        return ("bytes arrive but none parse: the baud rate is likely wrong (set [gps] baudrate;"
                " u-blox default 9600)")
    return ("nothing arrives: check the GPS wiring (TX to RX), power, enable_uart=1 and that no "
            "login console uses the port")


def gps_fix_probe(gps: GpsWatch | None, clock: Clock) -> Probe:
    """A usable fix, and how old it is."""

    def run() -> Finding:
        fix = None if gps is None else gps.stats().last_usable_fix
        if fix is None:
            return Finding(False, "no usable fix", "put the unit outside with a clear view of "
                           "the sky for a few minutes (a cold start takes up to a minute or "
                           "more); check the antenna", {"mode": None})
        age = round(clock.monotonic() - fix.received_mono, 1)
        kind = fix.fix_type.value
        return Finding(True, f"{kind} fix, {fix.satellites_used} satellites, {age:.0f} s old",
                       facts={"mode": kind, "age_s": age, "satellites": fix.satellites_used})

    return run


def model_probe(model_version: Callable[[], str]) -> Probe:
    """The face model the records name: its manifest sha256 ("none" when not loaded)."""

    def run() -> Finding:
        version = model_version()
        if version == "none":
            return Finding(False, "no face model loaded", "check [face] and the model folder "
                           "(`fieldcheck-device config check`)", {"sha256": version})
        return Finding(True, f"model {version[:12]}.. loaded", facts={"sha256": version})

    return run


def storage_probe(data_dir: Path, low_bytes: int) -> Probe:
    """The data folder: a file written, fsynced, read back and removed; free space above the
    store's low mark."""

    def run() -> Finding:
        probe = data_dir / ".selftest-probe"
        payload = os.urandom(4096)
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            same = probe.read_bytes() == payload
        finally:
            probe.unlink(missing_ok=True)
        vfs = os.statvfs(data_dir)
        free = vfs.f_bavail * vfs.f_frsize
        facts: Details = {"free_mb": free // 2**20, "written": same}
        if not same:
            return Finding(False, f"{data_dir}: read back differs from what was written",
                           "the SD card is failing: replace it", facts)
        if free < low_bytes:
            return Finding(False, f"{data_dir}: only {free // 2**20} MiB free",
                           "free space on the SD card or fit a larger one", facts)
        return Finding(True, f"{data_dir}: write+fsync ok, {free // 2**20} MiB free",
                       facts=facts)

    return run


def clock_probe(clock: Clock, synchronized: Callable[[], bool],
                gps_offset_s: Callable[[], float | None] | None = None) -> Probe:
    """The system clock: set (after 2025), synchronised (NTP or GPS), close to GPS time."""

    def run() -> Finding:
        now = clock.now()
        synced = synchronized()
        offset = gps_offset_s() if gps_offset_s is not None else None
        facts: Details = {"synced": synced, "gps_offset_s": None if offset is None
                          else round(offset, 3)}
        if now < CLOCK_FLOOR:
            return Finding(False, f"clock says {now:%Y-%m-%d}: not set", "connect the unit to "
                           "a network (NTP) or get a GPS fix, then run again", facts)
        if offset is not None and abs(offset) > 2.0:
            return Finding(False, f"clock is {offset:+.1f} s off GPS time", "check NTP "
                           "(`timedatectl`); the GPS time is the reference", facts)
        if not synced and offset is not None:
            return Finding(True, f"clock {now:%Y-%m-%d %H:%M} UTC agrees with GPS time "
                           f"({offset:+.2f} s); NTP not synchronised", facts=facts)
        if not synced:
            return Finding(False, f"clock {now:%Y-%m-%d %H:%M} UTC is not synchronised",
                           "enable NTP (`timedatectl set-ntp true`) or let the GPS set it",
                           facts)
        return Finding(True, f"clock {now:%Y-%m-%d %H:%M} UTC, synchronised", facts=facts)

    return run


class Health(Protocol):
    """The sync transport as the self-test sees it."""

    describe: str

    def health(self) -> str:
        """The server's health word over the pinned TLS (raises SyncError)."""
        ...


def server_probe(transport: Health | None) -> Probe:
    """The server answers its health check over the pinned TLS (None: no server configured)."""

    def run() -> Finding:
        if transport is None:
            return Finding(None, "no server configured ([sync] type = null)")
        try:
            word = transport.health()
        except SyncError as err:
            return Finding(False, f"{transport.describe}: {super(DeviceError, err).__str__()}",
                           err.hint or "check the network, [sync] url, server_cert and "
                           "fingerprint", {"reachable": False})
        return Finding(word == "ok", f"{transport.describe}: health {word}",
                       "the server is up but unwell: check `journalctl -u fieldcheck-server`",
                       {"reachable": True})

    return run


def supervisor_probe(link_up: Callable[[float], bool], describe: str, wait_s: float) -> Probe:
    """The supervisor MCU answers on its link within ``wait_s`` seconds."""

    def run() -> Finding:
        if link_up(wait_s):
            return Finding(True, f"{describe}: link up", facts={"up": True})
        silence = f"no answer in {wait_s:g} s" if wait_s > 0 else "link down"
        return Finding(False, f"{describe}: {silence}", "check the USB cable "
                       "to the Pico (or UART3 wiring), that it runs the supervisor firmware "
                       "(`mpremote ls`), and `ls -l /dev/fieldcheck-mcu`", {"up": False})

    return run


Frame = NDArray[np.uint8]


class CameraCheck:
    """Captures one burst; ``capture`` and ``exposure`` are two probes over that burst."""

    def __init__(self, capture_burst: Callable[[int], list[Frame]], describe: str,
                 count: int = 3) -> None:
        self._capture_burst = capture_burst
        self._describe = describe
        self._count = count
        self._frames: list[Frame] = []

    def capture(self) -> Finding:
        """Frames arrive (RGBX from the camera; RGB ones are judged alike)."""
        self._frames = self._capture_burst(self._count)
        if not self._frames:
            return Finding(False, f"{self._describe}: no frame", "check the camera ribbon "
                           "cable and `rpicam-hello --list-cameras`")
        height, width = self._frames[0].shape[:2]
        return Finding(True, f"{self._describe}: {len(self._frames)} frame(s) {width}x{height}",
                       facts={"frames": len(self._frames), "width": width, "height": height})

    def exposure(self) -> Finding:
        """The picture is neither black, blown out nor frozen flat (mean and spread of luma)."""
        if not self._frames:
            return Finding(None, "no frame to judge (capture failed)")
        weights = np.asarray([0.299, 0.587, 0.114], np.float32)
        luma = np.asarray(self._frames[-1][..., :3], np.float32) @ weights  # RGB or RGBX
        mean, spread = float(luma.mean()), float(luma.std())
        facts: Details = {"mean": round(mean, 1), "spread": round(spread, 1)}
        if mean < 20:
            return Finding(False, f"too dark (mean {mean:.0f}/255)", "remove the lens cover, "
                           "test in a lit room; check the sensor is not covered", facts)
        if mean > 235:
            return Finding(False, f"blown out (mean {mean:.0f}/255)", "do not point it at a "
                           "lamp or the sun; check the exposure settings", facts)
        if spread < 2:
            return Finding(False, f"flat picture (spread {spread:.1f})", "the sensor gives a "
                           "uniform image: reseat the ribbon cable or replace the camera", facts)
        return Finding(True, f"mean {mean:.0f}/255, spread {spread:.0f}", facts=facts)


def run_all(checks: Mapping[str, Probe]) -> list[Row]:
    """:func:`run_checks` over ``{name: probe}`` (the command's form)."""
    return run_checks([Check(name, probe) for name, probe in checks.items()])
