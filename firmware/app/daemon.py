"""The device daemon's run loop: start the parts, watch every thread, safe mode, sd_notify."""

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from fieldcheck_protocol.clock import Clock, SystemClock
from firmware.app.duty import DutyCycle
from firmware.app.parts import Parts
from firmware.app.sdnotify import Notifier
from firmware.app.wiring import Wiring
from firmware.config import DeviceConfig, Essentials, PolicySettings, Validation
from firmware.errors import DeviceError, StoreError, VerifyError
from firmware.private_file import replace_private
from firmware.services.gps_watch import GpsWatch
from firmware.services.ledger import Ledger
from firmware.services.supervision import EventPump, RestartBudget
from firmware.store.base import RecordStore, StoreProblem
from firmware.store.identity import DeviceIdentity
from firmware.ui.base import FeedbackSink
from firmware.update.registry import JOURNAL_FILE, PENDING_BUNDLE
from firmware.version import FIRMWARE_VERSION

logger = logging.getLogger(__name__)

#: How often the main loop checks health and feeds systemd's watchdog when none is armed.
HEALTH_INTERVAL_S = 5.0
#: Under duty cycling the loop looks this often whether the wake is over (every second awake
#: costs energy) and when the first fix came (the time to first fix is this precise).
DUTY_CHECK_S = 1.0
#: The effective config's digest at the last boot, to record changes as events.
CONFIG_DIGEST_FILE = "config.sha256"
#: sd_notify STATUS of a daemon that ended its wake with a timed sleep request (it exits 0 next:
#: a supervisor such as the update's health check can tell that from a crash).
SLEEP_STATUS = "duty cycle: asleep"
#: At most this many config problems go into the signed safe_mode event (all are logged).
EVENT_PROBLEMS = 8
#: Longest text value of a signed event's details (the record schema's bound).
DETAIL_BYTES = 256


@dataclass(frozen=True)
class SafeReason:
    """Why the unit runs in safe mode, and what a technician must do about it."""

    reason: str
    detail: str
    action: str


def _read_digest(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def config_reason(validation: Validation) -> SafeReason:
    """Safe mode for a config file that failed validation."""
    shown = "; ".join(str(p) for p in validation.problems[:EVENT_PROBLEMS])
    return SafeReason("config_invalid", f"{validation.source}: {shown}",
                      f"fix {validation.source} (`fieldcheck-device config check "
                      f"{validation.source}` lists every problem), then restart the daemon")


class Daemon:
    """The device daemon: everything from the wiring, run until SIGTERM, fed to systemd.

    With an invalid config or a corrupt model it does not exit: it runs in safe mode, which
    keeps the store, the supervisor link and sync going, records a signed ``safe_mode`` event
    and keeps feeding the watchdog (so systemd does not restart it into the same fault).
    """

    def __init__(self, config: DeviceConfig | Validation, sink: FeedbackSink,
                 clock: Clock | None = None, health_interval_s: float = HEALTH_INTERVAL_S,
                 budget: RestartBudget | None = None) -> None:
        self.validation = config if isinstance(config, Validation) else None
        self.full = config if isinstance(config, DeviceConfig) else None
        if self.validation is not None and self.validation.ok:
            self.full = self.validation.config()
        self.sink = sink
        self.clock = clock or SystemClock()
        self.health_interval_s = health_interval_s
        self.notifier = Notifier()
        self._stop = threading.Event()
        self._budget = budget or RestartBudget(self.clock)
        self.safe: SafeReason | None = None
        self._given_up: set[str] = set()
        self._shown: dict[str, dict[str, Any]] = {}
        #: The wake being run under the duty_cycled power policy (None: always on).
        self.duty: DutyCycle | None = None

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code (0 on a clean stop)."""
        self._install_signals()
        wiring = Wiring(self._essentials(), self.clock)
        with wiring.lock("fieldcheck-device run"):
            self.sink.start()
            try:
                self._run(wiring)
            finally:
                self.sink.stop()
        if self.duty is not None and self.duty.plan is not None:
            self.duty.halt()  # the lock is released: the next wake's daemon may start
        return 0

    def _essentials(self) -> DeviceConfig | Essentials:
        if self.full is not None:
            return self.full
        assert self.validation is not None
        self.safe = config_reason(self.validation)
        logger.critical("config %s is invalid; starting in safe mode:\n%s",
                        self.validation.source,
                        "\n".join(f"  {p}" for p in self.validation.problems))
        return self.validation.essentials()

    def _run(self, wiring: Wiring) -> None:
        if self.full is not None and self.full.policy.power == "duty_cycled":
            device = self.full.device
            holds = (device.data_dir / PENDING_BUNDLE, device.update_root / JOURNAL_FILE)
            self.duty = DutyCycle(self.full.policy, self.clock, holds)
        identity = wiring.identity(create=True)
        store = wiring.store(identity)
        problems = store.start_and_check()
        try:
            recorder = wiring.ledger(store, identity, self.sink.observe)
            self._boot_records(recorder, problems)
            parts = self._build_parts(wiring, identity, recorder, store)
            try:
                self._start(parts, recorder)
                self.sink.ready(identity.device_id, FIRMWARE_VERSION)
                self.notifier.send("READY=1", f"STATUS=device {identity.device_id} "
                                   f"{'SAFE MODE' if self.safe else 'running'}")
                self._main_loop(store, parts, recorder)
            finally:
                self._shutdown(parts, recorder, store)
        finally:
            store.stop()
            self.notifier.send("STOPPING=1")
            self.notifier.close()

    def _start(self, parts: Parts, recorder: Ledger) -> None:
        """Start every part; a corrupt model (or an invalid config) means safe mode."""
        if parts.engine is not None:
            try:
                parts.engine.start()
            except VerifyError as err:
                self.safe = SafeReason("model_invalid", str(err),
                                       "reinstall the face models (models/ with its "
                                       "manifest.json, e.g. from the release bundle), then "
                                       "restart the daemon")
        # A bad model stops only check-ins: GPS still records where the unit is.
        skipped = {"checkin"} if self.safe is not None else set()
        for name, part in parts.all:
            if name not in skipped:
                part.start()
        if self.safe is not None:
            self._announce_safe(recorder)

    def _announce_safe(self, recorder: Ledger) -> None:
        safe = self.safe
        assert safe is not None
        logger.critical("SAFE MODE (%s): %s; %s", safe.reason, safe.detail, safe.action)
        self.notifier.send(f"STATUS=SAFE MODE: {safe.reason}: {safe.action}")
        self.sink.safe_mode(safe.reason, safe.detail, safe.action)
        try:
            recorder.event("safe_mode", {"reason": safe.reason, "detail": _short(safe.detail),
                                         "action": _short(safe.action)})
        except StoreError as err:
            logger.error("the safe_mode event could not be committed: %s", err)

    def _boot_records(self, recorder: Ledger, problems: list[StoreProblem]) -> None:
        """Boot, config change and store problems: the first records of every start."""
        if self.full is None:
            assert self.validation is not None
            recorder.boot({"firmware": FIRMWARE_VERSION, "config": self.validation.source[-60:],
                           "config_file_sha256": self.validation.raw_sha256,
                           "safe_mode": True})
            recorder.report(problems)
            return
        digest = self.full.digest()
        recorder.boot({"firmware": FIRMWARE_VERSION, "config": self.full.source[-60:],
                       "config_sha256": digest})
        digest_file = self.full.device.data_dir / CONFIG_DIGEST_FILE
        previous = _read_digest(digest_file)
        if previous is not None and previous != digest:
            # Policy is auditable: every change of the effective settings is a signed event.
            recorder.event("config_change", {"config_sha256": digest, "previous": previous})
        if previous != digest:
            replace_private(digest_file, (digest + "\n").encode())  # once the event is in
        recorder.report(problems)

    def _build_parts(self, wiring: Wiring, identity: DeviceIdentity, recorder: Ledger,
                     store: RecordStore) -> Parts:
        gps = checkins = engine = None
        consumers: list[Callable[[Any], object]] = [recorder.on_supervisor]
        if self.full is not None:
            gps = wiring.gps_watch(recorder)
            engine = wiring.face_engine()
            recorder.attach_model(engine)  # records name the model once it is loaded
            checkins = wiring.checkin_worker(wiring.camera(), engine, identity.device_id,
                                             recorder, self.sink)
            consumers.append(checkins.on_supervisor)  # a short button press asks for one
        events = EventPump(consumers, on_dropped=lambda count, kinds: recorder.event(
            "supervisor_fault", {"detail": "event queue full", "dropped": count,
                                 "kinds": _short(kinds)}))
        supervisor = wiring.supervisor(events.put)  # the link thread only enqueues
        if not wiring.syncing:
            logger.info("no sync server configured: records stay on the unit")
        commands = wiring.command_service(identity, recorder, store, self.sink, gps, checkins,
                                          supervisor=supervisor)
        return Parts(gps, checkins, events, supervisor,
                     wiring.sync_worker(store, identity, commands),
                     syncing=wiring.syncing, engine=engine)

    def _shutdown(self, parts: Parts, recorder: Ledger, store: RecordStore) -> None:
        """Stop everything; each step runs even when an earlier one failed."""
        sync = parts.sync
        sleeping = self.duty is not None and self.duty.plan is not None
        steps: list[tuple[str, Callable[[], object]]] = []
        if sleeping:
            if parts.gps is not None:  # the receiver keeps its ephemeris: a hot start next wake
                parts.gps.request_standby()
            # Nothing new is written once the check-ins and GPS are down; then the timed sleep.
            steps += [(f"stopping {name}", p.stop) for name, p in reversed(parts.features)]
            steps.append(("the sleep request", lambda: self._sleep_request(parts, recorder)))
        reason = "duty_cycle" if sleeping else "stop requested"
        steps += [
            *((f"stopping {name}", p.stop) for name, p in reversed(parts.local)),
            ("the shutdown record", lambda: recorder.event("shutdown", {"reason": reason})),
            ("the final sync", sync.final_flush),
            ("stopping sync", sync.stop),
            ("the summary", lambda: self.sink.summary(
                {"stats": _gps_summary(parts.gps), "store": _store_summary(store)})),
        ]
        for what, step in steps:
            try:
                step()
            except DeviceError as err:
                logger.error("%s failed while stopping: %s", what, err)

    def _sleep_request(self, parts: Parts, recorder: Ledger) -> None:
        assert self.duty is not None and self.duty.plan is not None
        self.duty.request_sleep(parts, recorder)
        self.notifier.send(f"STATUS={SLEEP_STATUS} for {self.duty.plan.wake_after_s} s "
                           f"(next: {self.duty.plan.reason})")

    def request_stop(self) -> None:
        """Ask the main loop to finish (what SIGTERM does)."""
        self._stop.set()

    def _main_loop(self, store: RecordStore, parts: Parts, recorder: Ledger) -> None:
        interval = min(self.notifier.watchdog_interval() or self.health_interval_s,
                       self.health_interval_s, DUTY_CHECK_S if self.duty else float("inf"))
        prune_due = self.clock.monotonic() + self._prune_interval()
        while not self._stop.wait(interval):
            self.check_parts(parts, recorder)
            self._show_state(parts)
            if self.clock.monotonic() >= prune_due:
                prune_due = self.clock.monotonic() + self._prune_interval()
                self._housekeeping(store, recorder)
            self.notifier.send("WATCHDOG=1")  # safe mode too: the unit is doing what it can
            if self.duty is not None and self.duty.check(parts):
                return  # this wake's work is done: _shutdown asks for the timed sleep

    def _show_state(self, parts: Parts) -> None:
        """GPS and upload state to the feedback sink, when it changed (the screen shows it)."""
        state: dict[str, dict[str, Any]] = {}
        if parts.gps is not None:
            stats = parts.gps.stats()
            state["gps"] = {"state": stats.state.value, "port_open": stats.port_open}
        if parts.syncing:
            status = parts.sync.loop.status
            state["upload"] = {"acked_seq": status.acked_seq, "failures": status.failures,
                               "needs_technician": status.needs_technician,
                               "last_error": status.last_error}
        for kind, fields in state.items():
            if self._shown.get(kind) != fields:
                self._shown[kind] = fields
                self.sink.observe(kind, fields)

    def _prune_interval(self) -> float:
        """Seconds between retention checks (the policy's, or its default in safe mode)."""
        policy = self.full.policy if self.full is not None else PolicySettings()
        return policy.prune_interval_s

    def check_parts(self, parts: Parts, recorder: Ledger) -> None:
        """Restart every dead thread within the budget; a spent budget means safe mode."""
        for name, part in parts.watched():
            if name in self._given_up or not part.running or part.alive:
                continue
            if not self._budget.allow():
                self._given_up.add(name)
                self._budget_spent(name, parts, recorder)
                continue
            logger.error("%s stopped unexpectedly; restarting it", name)
            part.stop()
            try:
                part.start()
            except DeviceError as err:  # still down: the next health check tries, within budget
                logger.error("restarting %s failed: %s", name, err)

    def _budget_spent(self, name: str, parts: Parts, recorder: Ledger) -> None:
        budget = self._budget
        logger.critical("%s keeps failing: restart budget (%d in %g s) spent", name,
                        budget.max_restarts, budget.window_s)
        if self.safe is not None:
            return  # already in safe mode: the part stays down, the rest goes on
        for feature, part in parts.features:
            part.stop()
            self._given_up.add(feature)
        self.safe = SafeReason(
            "restart_budget", f"{name} stopped {budget.max_restarts} times within "
            f"{budget.window_s:g} s", "read the daemon's log (journalctl -u fieldcheck-device) "
            f"for why {name} fails, fix it, then restart the daemon")
        self._announce_safe(recorder)

    def _housekeeping(self, store: RecordStore, recorder: Ledger) -> None:
        try:
            store.prune()
            recorder.check_storage()
        except StoreError as err:
            logger.error("retention and storage check failed (retried next round): %s", err)

    def _install_signals(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            logger.info("signal %s: stopping", signal.Signals(signum).name)
            self._stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)


def _short(text: str, limit: int = DETAIL_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (a record's detail values are bounded)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - 3].decode(errors="ignore") + "..."


def _gps_summary(gps: GpsWatch | None) -> dict[str, Any]:
    if gps is None:
        return {"state": "off (safe mode)"}
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

