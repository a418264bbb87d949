"""The parts a one-off face command holds (``checkin now``, ``enroll``), started and stopped as one.

Built through the wiring under the data directory's lock, so the command uses exactly what the
daemon uses and never runs beside it; every part is stopped again whatever happens.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from firmware.app.wiring import Wiring
from firmware.camera.base import Camera
from firmware.face.base import FaceEngine
from firmware.services.ledger import Ledger
from firmware.services.liveness_check import LivenessCheck
from firmware.store.base import RecordStore
from firmware.store.identity import DeviceIdentity


@dataclass(frozen=True)
class FaceSession:
    """The started parts: the unit's identity and store, its ledger, camera, engine, liveness."""

    wiring: Wiring
    identity: DeviceIdentity
    store: RecordStore
    ledger: Ledger
    camera: Camera
    engine: FaceEngine
    liveness: LivenessCheck | None


@contextmanager
def face_session(wiring: Wiring, purpose: str) -> Iterator[FaceSession]:
    """Lock the data directory for ``purpose``, start the parts, stop them all at the end."""
    with wiring.lock(purpose):
        identity = wiring.identity()
        store = wiring.store(identity)
        problems = store.start_and_check()
        camera, engine, liveness = wiring.camera(), wiring.face_engine(), wiring.liveness()
        try:
            ledger = wiring.ledger(store, identity, model=engine)
            ledger.report(problems)
            camera.start()
            engine.start()
            if liveness is not None:
                liveness.landmarks.start()
            yield FaceSession(wiring, identity, store, ledger, camera, engine, liveness)
        finally:
            if liveness is not None:
                liveness.landmarks.stop()
            engine.stop()
            camera.stop()
            store.stop()
