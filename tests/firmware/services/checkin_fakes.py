"""Scripted camera, face engine and template source, and a real store and ledger, for tests."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fieldcheck_protocol.clock import Clock
from firmware.camera.base import Burst, Camera, Frame
from firmware.core.verdict import Guidance, Outcome, Quality, Verdict
from firmware.errors import CameraError, VerifyError
from firmware.face.base import FaceEngine
from firmware.face.matcher import Template
from firmware.services.ledger import Ledger, LoadedModel, Observer, RecordPolicy
from firmware.store.backends.sqlite import Config, SqliteRecordStore, create
from firmware.store.identity import create_identity, load_identity

MODEL = "ab" * 32
QUALITY = Quality(faces=1, detector_score=0.93, face_px=160.0, brightness=120.0,
                  sharpness=80.0, yaw=0.02)


def verdict(outcome: Outcome, distance: float | None = None,
            guidance: Guidance | None = None) -> Verdict:
    """A verdict as the engine would give it (threshold 0.6)."""
    return Verdict(outcome=outcome, distance=distance, threshold=0.6, guidance=guidance,
                   frames_used=0 if distance is None else 3, frames_total=3,
                   quality=QUALITY if outcome is not Outcome.UNKNOWN else None,
                   model_version="test-model")


MATCH = verdict(Outcome.MATCH, 0.3)
NO_MATCH = verdict(Outcome.NO_MATCH, 0.8)


def unknown(guidance: Guidance) -> Verdict:
    """An ``unknown`` verdict with this guidance."""
    return verdict(Outcome.UNKNOWN, None, guidance)


class ScriptedCamera(Camera):
    """Each burst takes the next scripted item: a frame count or a CameraError to raise."""

    describe = "scripted camera"

    def __init__(self, script: Sequence[int | CameraError]) -> None:
        self.script = list(script)
        self.bursts: list[tuple[int, float]] = []

    def capture_timed(self, count: int, timeout: float = 5.0) -> Burst:
        self.bursts.append((count, timeout))
        item = self.script.pop(0) if self.script else count
        if isinstance(item, CameraError):
            raise item
        # Frames a live sensor would give: never two alike, 1/30 s apart.
        frames = tuple(np.full((4, 4, 3), 10 + i, np.uint8) for i in range(item))
        return Burst(frames, tuple(100.0 + i / 30 for i in range(item)))

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass


class ScriptedEngine(FaceEngine):
    """``verify`` answers with the next scripted verdict (or raises a scripted VerifyError)."""

    def __init__(self, script: Sequence[Verdict | VerifyError]) -> None:
        self.script = list(script)
        self.model_sha256 = MODEL
        self.threshold = 0.6
        self.calls: list[int] = []

    def verify(self, frames: Sequence[Frame], template: Template) -> Verdict:
        self.calls.append(len(frames))
        item = self.script.pop(0)
        if isinstance(item, VerifyError):
            raise item
        return item

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass


@dataclass
class FixedTemplates:
    """A template source: a template, nobody enrolled (None), or an error to raise."""

    result: Template | VerifyError | None
    asked: list[str] = field(default_factory=list)

    def load(self, model_sha256: str) -> Template | None:
        self.asked.append(model_sha256)
        if isinstance(self.result, VerifyError):
            raise self.result
        return self.result


def a_template() -> Template:
    """Any template (the scripted engine never looks at it)."""
    return Template(embedding=np.zeros(128, np.float32), count=2, spread=0.2, model_sha256=MODEL)


def opened_store(data_dir: Path, clock: Clock) -> Iterator[SqliteRecordStore]:
    """A started real SQLite store with a fresh identity in ``data_dir`` (stopped after use)."""
    store = create(Config(), data_dir=data_dir, identity=create_identity(data_dir), clock=clock)
    assert store.start_and_check() == []
    yield store
    store.stop()


def ledger_for(store: SqliteRecordStore, clock: Clock, policy: RecordPolicy | None = None,
               observer: Observer | None = None, model: LoadedModel | None = None) -> Ledger:
    """The ledger of a store made by :func:`opened_store` (its identity is in the same folder)."""
    return Ledger(store, load_identity(store.path.parent), clock, policy, observer, model=model)
