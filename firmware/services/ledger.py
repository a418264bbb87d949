"""The ledger: the one place records are built and signed, and the policy of what is recorded.

It holds the device's signing identity, the firmware version and the loaded model; one lock
serialises every writer (GPS, supervisor, check-in and daemon threads): it reads the store's head
(next seq, last hash; kept from its own last commit), builds the :class:`Record`, signs it
(COSE_Sign1) and hands the signed bytes to the store, which checks them against its head inside
the transaction and commits them durably, or refuses them.

Policy lives here too: a location record every ``location_interval_s`` while the fix is usable
(0: none; the fix goes only with check-ins),
an event record for fix lost/regained, clock jumps, tamper, power, battery thresholds, watchdog
resets, supervisor link faults, store problems and storage crossings.

A fix that cannot become part of a record (a value the record schema refuses, e.g. a nan
altitude) never blocks the records after it: its location record is dropped and counted, and
events and check-ins are written with no fix rather than lost.
"""

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.record import FixSummary, Kind, Record, RecordError, to_ms
from fieldcheck_protocol.signature import record_hash, sign_record
from firmware.core.fix import EventKind, Fix, FixType, GpsEvent
from firmware.core.supervisor_event import (
    BatteryEvent,
    ButtonEvent,
    LinkEvent,
    PowerEvent,
    ResetEvent,
    ResetReason,
    SupervisorEvent,
    TamperEvent,
)
from firmware.errors import StoreError
from firmware.store.base import Entry, Head, RecordStore, StoreProblem
from firmware.store.identity import DeviceIdentity
from firmware.version import FIRMWARE_VERSION

logger = logging.getLogger(__name__)

#: Called with a report kind and fields for everything worth showing (bench demo, technicians).
Observer = Callable[[str, Mapping[str, Any]], None]

#: ``model_version`` of a record written while no face model is loaded.
NO_MODEL = "none"


@dataclass(frozen=True)
class RecordPolicy:
    """How often and on what the ledger writes."""

    location_interval_s: float = 60.0
    clock_jump_s: float = 2.0  # a change of the GPS-minus-system offset larger than this
    fix_max_age_s: float = 30.0  # a check-in may carry a fix at most this old


@dataclass(frozen=True)
class Appended:
    """A committed record and its COSE_Sign1 bytes."""

    record: Record
    cose: bytes


@dataclass
class LedgerCounts:
    """What the ledger had to drop or degrade (shown in the summary, logged once each)."""

    locations_dropped: int = 0  # fixes whose location record the schema refused
    written_without_fix: int = 0  # events and check-ins whose fix the schema refused


class LoadedModel(Protocol):
    """What the ledger asks of the face engine (``firmware.face.base.FaceEngine``)."""

    @property
    def running(self) -> bool:
        """Whether the model is loaded."""
        ...

    @property
    def model_sha256(self) -> str:
        """The manifest sha256 of the model that judges faces ("" before it is loaded)."""
        ...


def model_version_of(model: LoadedModel | None) -> str:
    """The record's ``model_version`` for ``model``: its manifest sha256, or ``"none"``."""
    if model is None or not model.running or not model.model_sha256:
        return NO_MODEL
    return model.model_sha256


def fix_summary(fix: Fix, now_mono: float) -> FixSummary | None:
    """The record's view of a usable fix (None when the fix has no usable position).

    Raises RecordError when the fix holds a value the record schema refuses.
    """
    if not fix.usable or fix.utc is None or fix.latitude is None or fix.longitude is None:
        return None
    return FixSummary(
        lat=fix.latitude,
        lon=fix.longitude,
        alt_m=fix.altitude_m,
        mode="3d" if fix.fix_type is FixType.THREE_D else "2d",
        hdop=fix.hdop,
        sats_used=fix.satellites_used,
        gps_time=fix.utc,
        age_s=max(0.0, round(now_mono - fix.received_mono, 3)),
    )


class Ledger:
    """Builds, signs and commits every record; callbacks for the GPS watch and the supervisor.

    Thread-safe: callbacks arrive on the GPS, supervisor and check-in threads; one lock
    serialises head, build, sign and append.
    """

    def __init__(self, store: RecordStore, identity: DeviceIdentity, clock: Clock,
                 policy: RecordPolicy | None = None, observer: Observer | None = None, *,
                 model: LoadedModel | None = None,
                 firmware_version: str = FIRMWARE_VERSION) -> None:
        if store.device_id != identity.device_id:
            raise StoreError(f"the record store belongs to {store.device_id}, the key to "
                             f"{identity.device_id}", "open the store of this unit's key")
        self._store = store
        self._identity = identity
        self._clock = clock
        self._policy = policy or RecordPolicy()
        self._observe = observer or (lambda kind, fields: None)
        self._model = model
        self.firmware_version = firmware_version
        self.counts = LedgerCounts()
        self._write_lock = threading.RLock()
        # The head as of our last commit: one transaction per record instead of two. The store
        # still checks every append against its own head, so a stale copy can never fork.
        self._head: Head | None = None
        self._fix_lock = threading.Lock()
        self._last_fix: Fix | None = None
        self._last_location_mono: float | None = None
        self._last_offset: float | None = None
        self._battery_level: str | None = None

    @property
    def device_id(self) -> str:
        """The device the records are signed for."""
        return self._identity.device_id

    @property
    def policy(self) -> RecordPolicy:
        """How often and on what this ledger writes."""
        return self._policy

    def change_policy(self, policy: RecordPolicy) -> None:
        """Write by ``policy`` from now on (a server's set_policy applied at once)."""
        self._policy = policy

    def attach_model(self, model: LoadedModel) -> None:
        """Name ``model`` in every record from now on (while it is loaded)."""
        self._model = model

    @property
    def model_version(self) -> str:
        """What records other than check-ins say about the model: the loaded one, or none."""
        return model_version_of(self._model)

    def write(self, kind: Kind, body: Mapping[str, Any], fix: FixSummary | None = None,
              gps_time: datetime | None = None, *, model_version: str | None = None,
              storage_low: bool | None = None) -> Appended:
        """Build, sign and durably commit the next record; StoreError when it cannot be.

        ``model_version`` names the model that judged a check-in (default: the loaded model).
        A record whose GPS time the schema refuses is written without fix and GPS time.
        """
        model = self.model_version if model_version is None else model_version
        with self._write_lock:
            head = self._head or self._store.head()
            record = self._record(kind, body, fix, gps_time, model, head.next_seq,
                                  head.last_hash)
            cose = sign_record(record, self._identity.private_key)
            entry = Entry(seq=record.seq, prev_hash=record.prev_hash, kind=record.kind,
                          device_ms=to_ms(record.device_time), hash=record_hash(cose), cose=cose)
            self._head = None  # until this append is known committed: read it again then
            self._store.append(entry, storage_low=storage_low)
            self._head = Head(next_seq=entry.seq + 1, last_hash=entry.hash)
        return Appended(record, cose)

    def _record(self, kind: Kind, body: Mapping[str, Any], fix: FixSummary | None,
                gps_time: datetime | None, model: str, seq: int, prev_hash: bytes) -> Record:
        """The record, else the same without fix and GPS time, else a StoreError."""
        try:
            return self._build(kind, body, fix, gps_time, model, seq, prev_hash)
        except RecordError as err:
            if fix is None and gps_time is None:
                raise _invalid(kind, err) from err
            first = err
        try:
            record = self._build(kind, body, None, None, model, seq, prev_hash)
        except RecordError as err:
            raise _invalid(kind, err) from err
        self._without_fix(first)
        return record

    def _build(self, kind: Kind, body: Mapping[str, Any], fix: FixSummary | None,
               gps_time: datetime | None, model: str, seq: int, prev_hash: bytes) -> Record:
        return Record(kind=kind, device_id=self._identity.device_id, seq=seq,
                      prev_hash=prev_hash, device_time=self._clock.now(), gps_time=gps_time,
                      fix=fix, firmware_version=self.firmware_version, model_version=model,
                      body=body)

    def _without_fix(self, err: RecordError) -> None:
        if self._count("written_without_fix") == 1:
            logger.warning("the current fix cannot be recorded (%s): events and check-ins are "
                           "written without a fix until the GPS reports recordable values "
                           "(logged once, counted every time)", err.code)

    def _count(self, name: str) -> int:
        """Add one to ``counts.<name>`` (callbacks come from several threads); the new total."""
        with self._fix_lock:
            total = int(getattr(self.counts, name)) + 1
            setattr(self.counts, name, total)
        return total

    def has_fresh_fix(self) -> bool:
        """Whether a usable fix no older than the policy's ``fix_max_age_s`` is at hand
        (no side effects: a check-in polls it while it waits for a fix)."""
        with self._fix_lock:
            fix = self._last_fix
        if fix is None or not fix.usable:
            return False
        return self._clock.monotonic() - fix.received_mono <= self._policy.fix_max_age_s

    def current_fix(self, max_age_s: float | None = None) -> tuple[FixSummary | None,
                                                                   datetime | None]:
        """The latest usable fix, if recordable and no older than ``max_age_s`` (None: the
        policy's ``fix_max_age_s``; ``math.inf``: the last fix whatever its age), and its GPS
        time."""
        with self._fix_lock:
            fix = self._last_fix
        if fix is None:
            return None, None
        summary = self._summary(fix, Kind.CHECKIN)
        limit = self._policy.fix_max_age_s if max_age_s is None else max_age_s
        if summary is None or summary.age_s > limit:
            return None, None
        return summary, fix.utc

    def _summary(self, fix: Fix, kind: Kind) -> FixSummary | None:
        """``fix_summary`` now, or None (counted) when the schema refuses the fix's values."""
        try:
            return fix_summary(fix, self._clock.monotonic())
        except RecordError as err:
            if kind is not Kind.LOCATION:
                self._without_fix(err)
            elif self._count("locations_dropped") == 1:
                logger.warning("location record dropped, the fix holds a value a record cannot "
                               "carry (%s); further drops are counted, not logged", err.code)
            return None

    def boot(self, details: Mapping[str, Any]) -> Appended:
        """The first record of every start."""
        return self.event("boot", details)

    def event(self, kind: str, details: Mapping[str, Any], fix: Fix | None = None) -> Appended:
        """Write an ``event`` record of type ``kind`` with flat ``details``."""
        summary = self._summary(fix, Kind.EVENT) if fix is not None else None
        gps_time = summary.gps_time if summary is not None else None
        if summary is None:
            summary, gps_time = self.current_fix()
        body = {"type": kind, "details": dict(details)}
        appended = self.write(Kind.EVENT, body, summary, gps_time)
        self._observed(appended, {"type": kind})
        self._observe("event", {"event": kind, "time": appended.record.device_time, **details})
        return appended

    def report(self, problems: list[StoreProblem]) -> list[Appended]:
        """Raise one ``event`` record per store problem, so the server learns of it too."""
        return [self.write(Kind.EVENT, problem.event_body()) for problem in problems]

    def check_storage(self) -> Appended | None:
        """Let the store measure (and thin); record a low/recovered crossing as an event."""
        with self._write_lock:
            change = self._store.check_storage()
            if change is None:
                return None
            appended = self.write(Kind.EVENT, change.event_body(), storage_low=change.low)
        self._observed(appended, {"type": appended.record.body["type"]})
        return appended

    def _observed(self, appended: Appended, extra: Mapping[str, Any]) -> None:
        record = appended.record
        self._observe("record", {"kind": record.kind.value, **extra, "seq": record.seq})

    def on_fix(self, fix: Fix) -> None:
        """GPS watch callback: remember usable fixes, write a location record when it is due."""
        now = self._clock.monotonic()
        if fix.usable:
            with self._fix_lock:
                self._last_fix = fix
            self._observe("fix", _fix_fields(fix))
        elif fix.flags:
            self._observe("fix", _fix_fields(fix))
        self._check_clock(fix)
        if self._policy.location_interval_s == 0:
            return  # location only with check-ins: each carries the last usable fix
        due = (
            self._last_location_mono is None
            or now - self._last_location_mono >= self._policy.location_interval_s
        )
        if not due or not fix.usable:
            return
        summary = self._summary(fix, Kind.LOCATION)
        if summary is None:
            return
        body = {"interval": int(self._policy.location_interval_s)}
        appended = self.write(Kind.LOCATION, body, summary, summary.gps_time)
        self._last_location_mono = now  # only once committed: a failed write retries
        self._observed(appended, {})

    def on_gps_event(self, event: GpsEvent) -> None:
        """GPS watch callback: fix lost and regained become event records; all are observed."""
        self._observe("state", {
            "prev": event.previous.value,
            "state": event.current.value,
            "gps_time": event.fix.utc if event.fix is not None else None,
        })
        if event.kind is EventKind.FIX_LOST:
            self.event("fix_lost", {"state": event.current.value})
        elif event.kind in (EventKind.FIX_REGAINED, EventKind.FIX_ACQUIRED):
            # The first fix after boot is recorded too: time to first fix is evidence as well.
            first = event.kind is EventKind.FIX_ACQUIRED
            self.event("fix_regained", {"state": event.current.value, "first": first},
                       fix=event.fix)

    def on_supervisor(self, event: SupervisorEvent) -> None:
        """Supervisor callback: tamper, power, battery thresholds, resets and link faults."""
        match event:
            case TamperEvent():
                self.event("tamper", {"strap_open": event.strap_open,
                                      "mcu_uptime_ms": event.mcu_uptime_ms})
            case PowerEvent():
                self.event("power", {"external": event.external})
            case BatteryEvent():
                self._battery(event)
            case ResetEvent():
                if event.reason is ResetReason.WATCHDOG:
                    self.event("watchdog_reset", {"silence_ms": event.silence_ms,
                                                  "resets": event.watchdog_resets})
            case LinkEvent():
                if not event.up:
                    self.event("supervisor_fault", {"detail": event.detail[:120]})
            case ButtonEvent():
                self._observe("button", {"press": event.press.name.lower(),
                                         "duration_ms": event.duration_ms})

    def _battery(self, event: BatteryEvent) -> None:
        level = "critical" if event.critical else "low" if event.low else "ok"
        previous, self._battery_level = self._battery_level, level
        if level != previous and (previous is not None or level != "ok"):
            self.event("battery", {"level": level, "percent": event.percent,
                                   "millivolts": event.millivolts})

    def _check_clock(self, fix: Fix) -> None:
        offset = fix.clock_offset_s
        if offset is None or not fix.valid or not math.isfinite(offset):
            return
        previous, self._last_offset = self._last_offset, offset
        if previous is not None and abs(offset - previous) > self._policy.clock_jump_s:
            logger.warning("system clock moved %.1f s against GPS time", previous - offset)
            self.event("clock_jump", {"offset_s": round(offset, 3),
                                      "previous_offset_s": round(previous, 3)})


def _invalid(kind: Kind, err: RecordError) -> StoreError:
    return StoreError(f"{kind} record not written, it is invalid: {err}",
                      "this is a firmware bug: report it with this message")


def _fix_fields(fix: Fix) -> dict[str, Any]:
    return {
        "gps_time": fix.utc,
        "lat": fix.latitude,
        "lon": fix.longitude,
        "mode": fix.fix_type.value,
        "hdop": fix.hdop,
        "sats_used": fix.satellites_used,
        "flags": list(fix.flags),
    }
