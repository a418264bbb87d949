"""The composition root: every part of the unit built from the one config (daemon and commands)."""

import dataclasses
import logging
import random
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from fieldcheck_protocol.clock import Clock, SystemClock
from fieldcheck_protocol.command import CommandKind
from fieldcheck_protocol.review_box import key_id, parse_public_key
from firmware.app.live_policy import LivePolicy
from firmware.app.lock import InstanceLock
from firmware.app.update_offer import update_taker
from firmware.camera.base import Camera
from firmware.config import (
    DeviceConfig,
    DeviceSettings,
    PolicySettings,
    Section,
    validate_mapping,
)
from firmware.core.lifecycle import Lifecycle
from firmware.core.supervisor_event import EventCallback
from firmware.errors import StoreError
from firmware.face import template_store
from firmware.face.base import FaceEngine
from firmware.face.review_images import ReviewImages
from firmware.face.template_store import KeySource, TemplateStore, credential_path
from firmware.gps.clock_sync import KernelClockSync
from firmware.services import remote_policy
from firmware.services.checkin import CheckinService, FixSource, GuidanceHook, Receipt
from firmware.services.checkin_worker import CheckinWorker, Prompter
from firmware.services.command_state import CommandState
from firmware.services.commands import (
    CommandService,
    PolicyCheck,
    UpdateTaker,
    checkin_action,
    message_action,
    offer_update_action,
    read_command_key,
    selftest_action,
    set_policy_action,
)
from firmware.services.gps_watch import GpsWatch
from firmware.services.ledger import Ledger, LoadedModel, Observer, RecordPolicy
from firmware.services.liveness_check import LivenessCheck
from firmware.services.schedule import CheckinSettings, Schedule, ScheduleTracker
from firmware.services.schedule_book import BOOK_FILE, ScheduleBook
from firmware.services.selftest import (
    Probe,
    clock_probe,
    gps_probe,
    model_probe,
    storage_probe,
    store_probe,
    supervisor_probe,
)
from firmware.services.sync_loop import SyncLoop, SyncPolicy, SyncWorker
from firmware.store.base import RecordStore
from firmware.store.identity import (
    DeviceIdentity,
    key_path,
    load_identity,
    load_or_create_identity,
)
from firmware.supervisor.base import SupervisorLink
from firmware.ui.backends import report
from firmware.ui.base import FeedbackSink
from firmware.ui.tee import TeeSink
from firmware.update.registry import UpdateSettings

logger = logging.getLogger(__name__)


class EssentialConfig(Protocol):
    """What every unit needs, even in safe mode: where it lives, its store, server, MCU, ui."""

    @property
    def device(self) -> Any: ...  # noqa: D102 - DeviceSettings
    @property
    def policy(self) -> PolicySettings: ...  # noqa: D102
    @property
    def store(self) -> Section: ...  # noqa: D102
    @property
    def sync(self) -> Section: ...  # noqa: D102
    @property
    def supervisor(self) -> Section: ...  # noqa: D102
    @property
    def ui(self) -> Section: ...  # noqa: D102


def template_store_for(settings: CheckinSettings, data_dir: Path, device_id: str) -> TemplateStore:
    """The encrypted template store ``settings`` names (relative paths inside ``data_dir``)."""
    credential = credential_path(settings.key_credential) if settings.key_credential else None
    if settings.key_credential and credential is None:
        logger.warning("[checkin] key_credential %r set but systemd passed no credentials; "
                       "using key_file", settings.key_credential)
    # The default key file is the old layout's, beside the template: the key is derived from
    # the device key instead (and a template under the old key moves). A key_file set to
    # another path is a key kept apart on purpose, and is used.
    derive = settings.key_file == Path(template_store.KEY_FILE)
    keys = KeySource(data_dir / settings.key_file, credential,
                     _device_secret(data_dir) if derive else None)
    return TemplateStore(data_dir / settings.template_file, keys, device_id)


def _device_secret(data_dir: Path) -> bytes | None:
    """The device key's raw private bytes (the template key is derived from them), or None
    on a unit without a device key (it keeps a template key file of its own)."""
    if not key_path(data_dir).exists():
        return None
    return load_identity(data_dir).private_key.private_bytes_raw()


def review_images_for(settings: CheckinSettings, data_dir: Path,
                      device_id: str) -> ReviewImages | None:
    """The review image keeper ``settings`` ask for, or None when review images are off."""
    if not settings.review_images:
        return None
    public = parse_public_key(settings.review_public_key)
    logger.info("review images on: the frames of a no_match check-in are sealed to review key "
                "%s and kept %g days", key_id(public), settings.review_retention_days)
    return ReviewImages(data_dir / settings.review_dir, public, device_id,
                        settings.review_retention_days)


def liveness_for(settings: CheckinSettings, face: Section) -> LivenessCheck | None:
    """The liveness check the config asks for (not started); None when it is off, or when
    the face backend has no models to find landmarks with (the replay bench engine)."""
    if not settings.liveness.enabled:
        logger.warning("liveness checks are off ([checkin.liveness] enabled = false): a photo "
                       "of the wearer can pass a check-in")
        return None
    if face.backend.name != "tflite":
        logger.warning("liveness checks need the tflite face backend (face type is %s); "
                       "check-ins are judged without them", face.backend.name)
        return None
    from firmware.face.backends import landmarks_tflite  # only units with models load it

    cfg = face.config
    finder = landmarks_tflite.create(cfg.models_dir, cfg.runtime, cfg.num_threads, cfg.detector)
    return LivenessCheck(finder, settings.liveness)


def build_checkin(camera: Camera, engine: FaceEngine, settings: CheckinSettings, *,
                  data_dir: Path, device_id: str, recorder: FixSource, clock: Clock,
                  rng: random.Random | None = None,
                  on_guidance: GuidanceHook | None = None,
                  on_receipt: Callable[[Receipt], None] | None = None,
                  feedback: Prompter | None = None,
                  liveness: LivenessCheck | None = None) -> CheckinWorker:
    """The daemon's check-in worker; starting it starts the camera, the face engine and the
    liveness check's landmark models."""
    templates = template_store_for(settings, data_dir, device_id)
    review = review_images_for(settings, data_dir, device_id)
    stop = threading.Event()
    service = CheckinService(camera, engine, templates, recorder, settings,
                             sleep=stop.wait, clock=clock, on_guidance=on_guidance,
                             review=review, liveness=liveness)
    # The day's windows are drawn once and kept in the data dir: a restart does not redraw them.
    book = ScheduleBook(data_dir / BOOK_FILE)
    tracker = ScheduleTracker(Schedule(settings, rng or random.SystemRandom(), book), clock.now())
    parts: tuple[Lifecycle, ...] = (camera, engine)
    if liveness is not None and isinstance(liveness.landmarks, Lifecycle):
        parts += (liveness.landmarks,)
    return CheckinWorker(service, tracker, recorder, clock, parts=parts,
                         stop_event=stop, on_receipt=on_receipt, review=review,
                         feedback=feedback)


class Wiring:
    """Builds the unit's parts from ``config``; holds only the config and the clock."""

    def __init__(self, config: EssentialConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()

    @property
    def data_dir(self) -> Path:
        """The unit's data directory."""
        return Path(self.config.device.data_dir)

    @property
    def full(self) -> DeviceConfig:
        """The complete config (camera, face, GPS, check-ins); not available in safe mode."""
        if not isinstance(self.config, DeviceConfig):
            raise TypeError("the full unit needs a validated DeviceConfig")
        return self.config

    def lock(self, purpose: str) -> InstanceLock:
        """The single-instance lock on the data directory (acquire before writing the store)."""
        return InstanceLock(self.data_dir, purpose)

    def identity(self, create: bool = False) -> DeviceIdentity:
        """The device key; ``create`` makes it at first start (the daemon, ``identity init``)."""
        if not create:
            return load_identity(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identity, created = load_or_create_identity(self.data_dir)
        if created:
            logger.info("generated the device key; device id %s", identity.device_id)
        return identity

    def store(self, identity: DeviceIdentity) -> RecordStore:
        """The record store (not started)."""
        section = self.config.store
        store: RecordStore = section.module.create(
            section.config, data_dir=self.data_dir, identity=identity, clock=self.clock)
        return store

    def existing_store(self) -> RecordStore:
        """The unit's record store, started, for commands that read it: refuses to create one
        where the daemon has not (a wrong --data-dir would otherwise look like an empty unit)."""
        filename = getattr(self.config.store.config, "filename", None)
        if filename is not None and not (self.data_dir / filename).is_file():
            raise StoreError(f"no record store at {self.data_dir / filename}",
                             "check --data-dir / --config; the daemon creates it at first start")
        store = self.store(self.identity())
        store.start()
        return store

    def ledger(self, store: RecordStore, identity: DeviceIdentity,
               observer: Observer | None = None, model: LoadedModel | None = None) -> Ledger:
        """The one record writer, with the configured policy; ``model`` is the face engine
        whose manifest the records name once it is loaded."""
        policy = self.config.policy
        return Ledger(store, identity, self.clock, RecordPolicy(
            location_interval_s=policy.location_interval_s, clock_jump_s=policy.clock_jump_s,
            fix_max_age_s=policy.fix_max_age_s), observer, model=model)

    def camera(self) -> Camera:
        """The configured camera (not started)."""
        section = self.full.camera
        camera: Camera = section.module.create(section.config)
        return camera

    def face_engine(self) -> FaceEngine:
        """The configured face engine with its models, gates and threshold (not started)."""
        section = self.full.face
        engine: FaceEngine = section.module.create(section.config)
        return engine

    def template_store(self, device_id: str) -> TemplateStore:
        """The configured encrypted template store."""
        return template_store_for(self.full.checkin, self.data_dir, device_id)

    def checkin_service(self, camera: Camera, engine: FaceEngine, ledger: FixSource,
                        device_id: str,
                        on_guidance: GuidanceHook | None = None,
                        liveness: LivenessCheck | None = None) -> CheckinService:
        """A check-in service for one-off check-ins (``checkin now``), sleeping in real time;
        ``liveness`` (from :meth:`liveness`, started by the caller) None: judged without it."""
        # No GPS runs beside a one-off check-in: no fix can arrive, so none is waited for.
        settings = dataclasses.replace(self.full.checkin, fix_wait_s=0.0)
        return CheckinService(camera, engine, self.template_store(device_id), ledger, settings,
                              sleep=time.sleep, clock=self.clock, on_guidance=on_guidance,
                              review=review_images_for(settings, self.data_dir, device_id),
                              liveness=liveness)

    def liveness(self) -> LivenessCheck | None:
        """The configured liveness check (its landmark models not started), or None."""
        return liveness_for(self.full.checkin, self.full.face)

    def checkin_worker(self, camera: Camera, engine: FaceEngine, device_id: str,
                       ledger: Ledger, sink: FeedbackSink) -> CheckinWorker:
        """The daemon's check-in thread; it owns the camera and the face engine."""
        return build_checkin(
            camera, engine, self.full.checkin, data_dir=self.data_dir, device_id=device_id,
            recorder=ledger, clock=self.clock, on_guidance=sink.guidance,
            on_receipt=lambda receipt: sink.receipt(receipt.as_dict()), feedback=sink,
            liveness=self.liveness())

    def gps_watch(self, ledger: Ledger) -> GpsWatch:
        """The GPS watch over the configured source."""
        section = self.full.gps
        return GpsWatch(section.module.create(section.config), self.clock, ledger.on_fix,
                        ledger.on_gps_event, settings=section.config)

    def supervisor(self, on_event: EventCallback) -> SupervisorLink:
        """The supervisor MCU link; ``on_event`` runs on the link thread and must only enqueue."""
        section = self.config.supervisor
        link: SupervisorLink = section.module.create(section.config, on_event=on_event,
                                                     clock=self.clock)
        return link

    @property
    def syncing(self) -> bool:
        """Whether a server is configured."""
        return bool(self.config.sync.backend.name != "null")

    def sync_worker(self, store: RecordStore, identity: DeviceIdentity,
                    commands: CommandService | None = None) -> SyncWorker:
        """The sync thread and its transport; ``commands`` answers what uploads bring."""
        section = self.config.sync
        transport = section.module.create(section.config, signer=identity, clock=self.clock)
        policy = SyncPolicy(idle_interval_s=self.config.policy.sync_interval_s)
        on_commands = commands.handle if commands is not None else None
        loop = SyncLoop(store, transport, random.SystemRandom(), policy, on_commands)
        return SyncWorker(loop, transport)

    def command_key(self) -> bytes | None:
        """The pinned command public key ([sync] command_key), None when none is set."""
        path = str(self.config.sync.config.command_key) if self.syncing else ""
        return read_command_key(Path(path)) if path else None

    def _update_taker(self) -> UpdateTaker | None:
        """Offered bundles: fetched over the pinned HTTPS client, verified, queued (or None)."""
        if self.config.sync.backend.name != "https":
            return None
        device = self.config.device
        chosen = UpdateSettings(root=device.update_root, root_key=device.bundle_root_key)
        return update_taker(self.config.sync.config, self.data_dir, chosen)

    def _remote_keys(self) -> tuple[str, ...]:
        return tuple(self.config.sync.config.remote_keys) if self.syncing else ()

    def _policy_check(self) -> PolicyCheck:
        """The config check run on the config file with the server's changes laid over it."""
        source = Path(str(getattr(self.config, "source", "")))

        def check(changes: Mapping[str, remote_policy.Value]) -> list[str]:
            try:
                data = tomllib.loads(source.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
                return [f"cannot re-read the config {source}: {err}"]
            before = {str(p) for p in validate_mapping(data, str(source)).problems}
            merged = remote_policy.overlay(data, changes, remote_policy.allowed_keys(data))
            after = validate_mapping(merged, str(source)).problems
            return [str(p) for p in after if str(p) not in before]

        return check

    def command_probes(self, store: RecordStore, gps: GpsWatch | None,
                       model_version: Callable[[], str],
                       supervisor: SupervisorLink | None = None) -> dict[str, Probe]:
        """The self-test checks a running daemon can make without taking a device from the
        thread that owns it (the camera stays with its thread; the MCU link is only read)."""
        offset = None if gps is None else (lambda: gps.stats().clock_offset_s)
        low = int(getattr(self.config.store.config, "storage_low_bytes", 0))
        probes = {"store": store_probe(store), "gps": gps_probe(gps, self.clock),
                  "model": model_probe(model_version),
                  "storage": storage_probe(self.data_dir, low),
                  "clock": clock_probe(self.clock, KernelClockSync().synchronized, offset)}
        if supervisor is not None:
            probes["supervisor"] = supervisor_probe(lambda _s: supervisor.link_up,
                                                    supervisor.describe, 0)
        return probes

    def _reload(self) -> DeviceConfig | None:
        """The config file with the server's stored changes laid over it (None: unusable)."""
        source = Path(str(getattr(self.config, "source", "")))
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            logger.error("cannot re-read the config %s to apply a policy change now: %s",
                         source, err)
            return None
        validation = validate_mapping(remote_policy.apply(data, DeviceSettings().data_dir),
                                      str(source))
        return validation.config() if validation.ok else None

    def command_service(self, identity: DeviceIdentity, ledger: Ledger, store: RecordStore,
                        sink: FeedbackSink, gps: GpsWatch | None,
                        checkins: CheckinWorker | None,
                        supervisor: SupervisorLink | None = None) -> CommandService:
        """The signed-command handler: pinned key, replay guard in the data dir, the actions."""
        request = None if checkins is None else (lambda: checkins.request("remote"))
        probes = self.command_probes(store, gps, lambda: ledger.model_version, supervisor)
        actions = {
            CommandKind.CHECKIN_NOW: checkin_action(request),
            CommandKind.MESSAGE: message_action(lambda _command_id, text: sink.message(text)),
            CommandKind.SELFTEST: selftest_action(probes),
            CommandKind.OFFER_UPDATE: offer_update_action(self._update_taker()),
            CommandKind.SET_POLICY: set_policy_action(
                self.data_dir, self._remote_keys(), self._policy_check(), ledger,
                LivePolicy(self._reload, ledger, checkins.tracker if checkins else None,
                           self.clock)),
        }
        return CommandService(self.command_key(), identity.device_id,
                              CommandState(self.data_dir), ledger, self.clock, actions)

    def feedback_sink(self, report_path: str | None = None) -> FeedbackSink:
        """The configured feedback sink; ``report_path`` (``run --report``) adds the report
        beside a configured screen (or replaces the null sink)."""
        section = self.config.ui
        if report_path and section.backend.name in ("null", "report"):
            return report.create(report.Config(path=report_path))
        sink: FeedbackSink = section.module.create(section.config)
        if report_path:
            return TeeSink((report.create(report.Config(path=report_path)), sink))
        return sink
