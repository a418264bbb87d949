"""The composition root: build every backend from the config, wire the services, run, stop."""

import logging
import random
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from fieldcheck_protocol.clock import Clock, SystemClock
from firmware.app.report import Report
from firmware.app.sdnotify import Notifier
from firmware.config import DeviceConfig
from firmware.core.lifecycle import Lifecycle
from firmware.core.supervisor_event import SupervisorEvent
from firmware.errors import DeviceError, StoreError, SyncError
from firmware.private_file import replace_private
from firmware.services.checkin import Receipt
from firmware.services.checkin_worker import CheckinWorker, build_checkin
from firmware.services.gps_watch import GpsWatch
from firmware.services.ledger import Ledger, RecordPolicy
from firmware.services.supervision import RestartBudget
from firmware.services.sync_loop import SyncLoop, SyncPolicy
from firmware.store.base import RecordStore, StoreProblem
from firmware.store.identity import DeviceIdentity, load_or_create_identity
from firmware.sync.base import SyncTransport
from firmware.version import FIRMWARE_VERSION

logger = logging.getLogger(__name__)

#: How often the main loop checks health and feeds systemd's watchdog when none is armed.
HEALTH_INTERVAL_S = 5.0
#: The effective config's digest at the last boot, to record changes as events.
CONFIG_DIGEST_FILE = "config.sha256"


def _read_digest(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


class SyncWorker(Lifecycle):
    """Runs the sync loop on its own thread until stopped."""

    def __init__(self, loop: SyncLoop, transport: SyncTransport) -> None:
        self.loop = loop
        self.transport = transport
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def stop_thread(self) -> None:
        """Stop the background loop but keep the transport open for a final flush."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def alive(self) -> bool:
        """Whether the sync thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        self.transport.start()
        self._stop_event.clear()
        self._thread = threading.Thread(
            target=self.loop.run, args=(self._stop_event.wait,), name="sync", daemon=True
        )
        self._thread.start()

    def _stop(self) -> None:
        self.stop_thread()
        self.transport.stop()

    def final_flush(self) -> None:
        """Stop the background loop, then push what is left once, on the caller's thread."""
        self.stop_thread()
        self.flush()

    def flush(self, max_batches: int = 4) -> None:
        """One last bounded push on the caller's thread (e.g. the shutdown record)."""
        if self.running and not self.alive:
            try:
                self.loop.drain(max_batches)
            except SyncError as err:
                logger.warning("final sync before stopping failed: %s", err)


@dataclass(frozen=True)
class Parts:
    """The daemon's running components; ``sync`` runs only when a server is configured."""

    gps: GpsWatch
    checkins: CheckinWorker
    supervisor: Lifecycle
    sync: SyncWorker
    syncing: bool

    @property
    def local(self) -> tuple[Lifecycle, ...]:
        """What runs on the unit itself, in start order."""
        return (self.checkins, self.gps, self.supervisor)

    @property
    def all(self) -> tuple[Lifecycle, ...]:
        """Everything to start, in order."""
        return (*self.local, self.sync) if self.syncing else self.local


class Daemon:
    """The device daemon: GPS watch, recorder, store, sync and supervisor, fed to systemd."""

    def __init__(self, config: DeviceConfig, report: Report, clock: Clock | None = None) -> None:
        self.config = config
        self.report = report
        self.clock = clock or SystemClock()
        self.notifier = Notifier()
        self._stop = threading.Event()
        self._budget = RestartBudget(self.clock)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0 on a clean stop)."""
        self._install_signals()
        data_dir = self.config.device.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        identity, created = load_or_create_identity(data_dir)
        if created:
            logger.info("generated the device key; device id %s", identity.device_id)
        store = self._build_store(identity)
        problems = store.start_and_check()
        try:
            recorder = Ledger(store, identity, self.clock, self._record_policy(), self._observe)
            self._boot_records(recorder, problems)
            parts = self._build_parts(identity, recorder, store)
            try:
                for part in parts.all:
                    part.start()
                self.report.write("ready", device_id=identity.device_id,
                                  firmware=FIRMWARE_VERSION)
                self.notifier.send("READY=1", f"STATUS=device {identity.device_id} running")
                self._main_loop(store, recorder, parts)
            finally:
                self._shutdown(parts, recorder, store)
        finally:
            store.stop()
            self.notifier.send("STOPPING=1")
            self.notifier.close()
        return 0

    def _boot_records(self, recorder: Ledger, problems: list[StoreProblem]) -> None:
        """Boot, config change and store problems: the first records of every start."""
        digest = self.config.digest()
        recorder.boot({"firmware": FIRMWARE_VERSION, "config": self.config.source[-60:],
                       "config_sha256": digest})
        digest_file = self.config.device.data_dir / CONFIG_DIGEST_FILE
        previous = _read_digest(digest_file)
        if previous is not None and previous != digest:
            # Policy is auditable: every change of the effective settings is a signed event.
            recorder.event("config_change", {"config_sha256": digest, "previous": previous})
        if previous != digest:
            replace_private(digest_file, (digest + "\n").encode())  # once the event is in
        recorder.report(problems)

    def _build_parts(self, identity: DeviceIdentity, recorder: Ledger,
                     store: RecordStore) -> Parts:
        gps = self._build_gps(recorder)
        checkins = self._build_checkin(identity, recorder)

        def on_supervisor(event: SupervisorEvent) -> None:
            recorder.on_supervisor(event)
            checkins.on_supervisor(event)  # a short button press asks for a check-in

        supervisor = self.config.supervisor.module.create(
            self.config.supervisor.config, on_event=on_supervisor, clock=self.clock
        )
        sync = self._build_sync(store, identity)
        if self.config.sync.backend.name == "null":
            logger.info("no sync server configured: records stay on the unit")
        return Parts(gps, checkins, supervisor, sync,
                     syncing=self.config.sync.backend.name != "null")

    def _shutdown(self, parts: Parts, recorder: Ledger, store: RecordStore) -> None:
        """Stop everything; each step runs even when an earlier one failed."""
        sync = parts.sync
        steps: list[tuple[str, Callable[[], object]]] = [
            *((f"stopping {type(p).__name__}", p.stop) for p in reversed(parts.local)),
            ("the shutdown record", lambda: recorder.event("shutdown",
                                                           {"reason": "stop requested"})),
            ("the final sync", sync.final_flush),
            ("stopping sync", sync.stop),
            ("the summary", lambda: self.report.write(
                "summary", stats=_gps_summary(parts.gps), store=_store_summary(store))),
        ]
        for what, step in steps:
            try:
                step()
            except DeviceError as err:
                logger.error("%s failed while stopping: %s", what, err)

    def request_stop(self) -> None:
        """Ask the main loop to finish (what SIGTERM does)."""
        self._stop.set()

    def _main_loop(self, store: RecordStore, recorder: Ledger, parts: Parts) -> None:
        interval = self.notifier.watchdog_interval() or HEALTH_INTERVAL_S
        prune_due = self.clock.monotonic() + self.config.policy.prune_interval_s
        safe_mode = False
        while not self._stop.wait(interval):
            for name, part in (("sync", parts.sync), ("checkin", parts.checkins)):
                if not safe_mode and part.running and not part.alive:
                    safe_mode = not self._restart(name, part)
            if self.clock.monotonic() >= prune_due:
                prune_due = self.clock.monotonic() + self.config.policy.prune_interval_s
                self._housekeeping(store, recorder)
            if not safe_mode:
                self.notifier.send("WATCHDOG=1")

    def _housekeeping(self, store: RecordStore, recorder: Ledger) -> None:
        try:
            store.prune()
            recorder.check_storage()
        except StoreError as err:
            logger.error("retention and storage check failed (retried next round): %s", err)

    def _restart(self, name: str, part: Lifecycle) -> bool:
        if not self._budget.allow():
            logger.critical(
                "%s keeps failing; restart budget spent, entering safe mode (no watchdog pings, "
                "systemd will restart the daemon)", name,
            )
            return False
        logger.error("%s stopped unexpectedly; restarting it", name)
        part.stop()
        try:
            part.start()
        except DeviceError as err:  # still down: the next health check tries, within budget
            logger.error("restarting %s failed: %s", name, err)
        return True

    def _record_policy(self) -> RecordPolicy:
        policy = self.config.policy
        return RecordPolicy(
            location_interval_s=policy.location_interval_s,
            clock_jump_s=policy.clock_jump_s,
            fix_max_age_s=policy.fix_max_age_s,
        )

    def _build_checkin(self, identity: DeviceIdentity, recorder: Ledger) -> CheckinWorker:
        camera = self.config.camera.module.create(self.config.camera.config)
        engine = self.config.face.module.create(self.config.face.config)
        recorder.attach_model(engine)  # records name the model once it is loaded
        return build_checkin(
            camera, engine, self.config.checkin, data_dir=self.config.device.data_dir,
            device_id=identity.device_id, recorder=recorder, clock=self.clock,
            on_guidance=self._guidance, on_receipt=self._receipt,
        )

    def _guidance(self, code: str, text: str) -> None:
        self.report.write("guidance", code=code, text=text)

    def _receipt(self, receipt: Receipt) -> None:
        self.report.write("checkin", **receipt.as_dict())

    def _build_store(self, identity: DeviceIdentity) -> RecordStore:
        section = self.config.store
        store: RecordStore = section.module.create(
            section.config, data_dir=self.config.device.data_dir, identity=identity,
            clock=self.clock,
        )
        return store

    def _build_gps(self, recorder: Ledger) -> GpsWatch:
        section = self.config.gps
        source = section.module.create(section.config)
        return GpsWatch(
            source, self.clock, recorder.on_fix, recorder.on_gps_event, settings=section.config
        )

    def _build_sync(self, store: RecordStore, identity: DeviceIdentity) -> SyncWorker:
        section = self.config.sync
        transport = section.module.create(section.config, signer=identity, clock=self.clock)
        policy = SyncPolicy(idle_interval_s=self.config.policy.sync_interval_s)
        return SyncWorker(SyncLoop(store, transport, random.SystemRandom(), policy), transport)

    def _observe(self, kind: str, fields: Mapping[str, Any]) -> None:
        self.report.write(kind, **fields)

    def _install_signals(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            logger.info("signal %s: stopping", signal.Signals(signum).name)
            self._stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)


def _gps_summary(gps: GpsWatch) -> dict[str, Any]:
    stats = gps.stats()
    return {
        "state": stats.state.value,
        "sentences_ok": stats.counts.sentences_ok,
        "rejected": stats.counts.rejected,
        "epochs": stats.epochs,
        "fixes_by_type": stats.fixes_by_type,
        "flagged": stats.flagged,
        "clock_offset_s": stats.clock_offset_s,
        "reopens": stats.reopens,
    }


def _store_summary(store: RecordStore) -> dict[str, Any]:
    status = store.status()
    return {"next_seq": status.next_seq, "acked_seq": status.acked_seq,
            "retained": status.retained}
