"""``fieldcheck-device selftest [--json]``: every part checked, a pass/fail table, a signed event.

GPS (port, sentences at the configured baud, a fix), camera (capture, exposure), models (load,
sha256 against the manifest, a known-answer embedding), storage (write, fsync, free space),
clock (set, synchronised), server (health over the pinned TLS) and the supervisor link. Each
failure says what to do. The result is committed as a signed ``selftest`` event. The command
takes the devices and the store, so the daemon must be stopped; a running unit answers the
server's ``selftest`` command instead (the checks it can make beside its own threads).
"""

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from firmware import config
from firmware.app.wiring import Wiring
from firmware.cli.identity import add_data_dir_arguments
from firmware.core.lifecycle import Lifecycle
from firmware.errors import DeviceError
from firmware.face.backends.runner import TfliteRunner
from firmware.face.base import FaceEngine
from firmware.face.manifest import ModelSpec
from firmware.face.pipeline import Embedder
from firmware.gps.clock_sync import KernelClockSync
from firmware.services import model_check, selftest
from firmware.services.gps_watch import GpsWatch
from firmware.services.selftest import Check, Finding, Row
from firmware.store.base import RecordStore
from firmware.store.identity import DeviceIdentity

#: Polling step while waiting for a GPS fix or the supervisor link.
POLL_S = 0.2


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``selftest`` command."""
    parser = sub.add_parser("selftest", help="check GPS, camera, models, storage, clock, "
                            "server and supervisor; record a signed selftest event")
    add_data_dir_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--gps-wait", type=float, default=20.0, metavar="S",
                        help="seconds to wait for GPS sentences and a fix (default 20)")
    parser.add_argument("--link-wait", type=float, default=5.0, metavar="S",
                        help="seconds to wait for the supervisor link (default 5)")
    parser.set_defaults(func=_selftest)


def _selftest(args: argparse.Namespace) -> int:
    loaded = config.load(config.chosen_path(args.config))
    if args.data_dir is not None:
        loaded = dataclasses.replace(
            loaded, device=dataclasses.replace(loaded.device, data_dir=Path(args.data_dir)))
    rows = run_selftest(Wiring(loaded), args.gps_wait, args.link_wait)
    if args.json:
        print(json.dumps({"passed": selftest.passed(rows), "checks": [
            {"name": r.name, "status": r.status.value, "found": r.found, "todo": r.todo,
             "facts": r.facts} for r in rows]}))
    else:
        print("\n".join(selftest.table(rows)))
    return 0 if selftest.passed(rows) else 1


def run_selftest(wiring: Wiring, gps_wait_s: float, link_wait_s: float) -> list[Row]:
    """Run every check with the unit's own parts and commit the signed ``selftest`` event."""
    with wiring.lock("fieldcheck-device selftest"):
        identity = wiring.identity()
        store = wiring.store(identity)
        problems = store.start_and_check()
        engine = wiring.face_engine()
        try:
            rows = selftest.run_checks(_checks(wiring, identity, store, engine,
                                               gps_wait_s, link_wait_s))
            ledger = wiring.ledger(store, identity, model=engine)
            ledger.report(problems)
            ledger.event("selftest", selftest.details(rows))
        finally:
            engine.stop()
            store.stop()
    return rows


def _checks(wiring: Wiring, identity: DeviceIdentity, store: RecordStore, engine: FaceEngine,
            gps_wait_s: float, link_wait_s: float) -> list[Check]:
    gps = _gps_watch(wiring)
    with _running(gps):
        _wait(lambda: gps.stats().last_usable_fix is not None, gps_wait_s)
        baud = getattr(wiring.full.gps.config, "baudrate", None)
        checks = [Check("gps", _frozen(selftest.gps_probe(gps, wiring.clock, baud))),
                  Check("gps_fix", _frozen(selftest.gps_fix_probe(gps, wiring.clock))),
                  Check("clock", _frozen(selftest.clock_probe(
                      wiring.clock, KernelClockSync().synchronized,
                      lambda: gps.stats().clock_offset_s)))]
    camera = _camera_check(wiring)
    checks += [Check("camera", camera.capture), Check("camera_exposure", camera.exposure)]
    checks += _model_checks(wiring, engine)
    low = int(getattr(wiring.config.store.config, "storage_low_bytes", 0))
    checks += [Check("store", selftest.store_probe(store)),
               Check("storage", selftest.storage_probe(wiring.data_dir, low)),
               Check("server", lambda: _server(wiring, identity)),
               Check("supervisor", lambda: _supervisor(wiring, link_wait_s))]
    return checks


def _frozen(probe: selftest.Probe) -> selftest.Probe:
    """Run ``probe`` now (while its device is open) and answer with that finding later."""
    try:
        finding = probe()
    except DeviceError as err:
        return _raise_later(err)
    return lambda: finding


def _raise_later(err: Exception) -> selftest.Probe:
    def run() -> Finding:
        raise err
    return run


def _gps_watch(wiring: Wiring) -> GpsWatch:
    # Fixes are only looked at: no location record is written by a self-test.
    section = wiring.full.gps
    return GpsWatch(section.module.create(section.config), wiring.clock, lambda _fix: None,
                    lambda _event: None, settings=section.config)


@contextmanager
def _running(part: Lifecycle) -> Iterator[None]:
    part.start()
    try:
        yield
    finally:
        part.stop()


def _wait(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def _camera_check(wiring: Wiring) -> selftest.CameraCheck:
    camera = wiring.camera()

    def burst(count: int) -> list[selftest.Frame]:
        with _running(camera):
            return camera.capture_burst(count, timeout=5.0)

    return selftest.CameraCheck(burst, camera.describe)


def _model_checks(wiring: Wiring, engine: FaceEngine) -> list[Check]:
    def load() -> Finding:
        engine.start()
        return Finding(True, f"{engine.describe}: {engine.model_version or 'loaded'}",
                       facts={"sha256": engine.model_sha256})

    checks = [Check("models_load", load)]
    face = wiring.full.face
    if face.backend.name != "tflite":
        skipped = Finding(None, f"[face] type = {face.backend.name}: no model files on this unit")
        return checks + [Check("models_sha256", lambda: skipped),
                         Check("known_answer", lambda: skipped)]
    folder = Path(face.config.models_dir)
    return checks + [Check("models_sha256", model_check.files_probe(folder)),
                     Check("known_answer", model_check.known_answer_probe(folder, _embedder))]


def _embedder(spec: ModelSpec) -> Callable[[selftest.Frame], NDArray[np.float32]]:
    return Embedder(TfliteRunner(spec), spec).embed


def _server(wiring: Wiring, identity: DeviceIdentity) -> Finding:
    if not wiring.syncing:
        return selftest.server_probe(None)()
    section = wiring.config.sync
    transport = section.module.create(section.config, signer=identity, clock=wiring.clock)
    with _running(transport):
        return selftest.server_probe(transport)()


def _supervisor(wiring: Wiring, wait_s: float) -> Finding:
    link = wiring.supervisor(on_event=lambda _event: None)
    with _running(link):
        time.sleep(min(2 * POLL_S, wait_s))  # let the link say what it knows before asking
        return selftest.supervisor_probe(lambda s: _wait(lambda: link.link_up, s),
                                         link.describe, wait_s)()
