"""Face landmarks on TFLite: the BlazeFace detector and the face-mesh model, per the manifest.

Its own detector runner (not the face engine's): the check-in thread owns both, so nothing is
shared across threads, and the engine's modules stay as they are.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

from firmware.core.lifecycle import Lifecycle
from firmware.errors import VerifyError
from firmware.face import manifest
from firmware.face.backends.runner import Runtime, TfliteRunner
from firmware.face.base import Frame
from firmware.face.landmarks import LANDMARKS, LandmarkModel, Points
from firmware.face.pipeline import Detector, DetectorSettings

logger = logging.getLogger(__name__)


class TfliteLandmarks(Lifecycle):
    """Finds the main face of a frame and its 468 landmarks; models load at ``start``."""

    def __init__(self, models_dir: Path, runtime: Runtime = "auto", num_threads: int = 1,
                 detector: DetectorSettings | None = None) -> None:
        self.models_dir = models_dir
        self.describe = f"tflite face landmarks ({models_dir})"
        self._runtime = runtime
        self._threads = num_threads
        self._detector_settings = detector or DetectorSettings()
        self._detector: Detector | None = None
        self._model: LandmarkModel | None = None

    def _start(self) -> None:
        bundle = manifest.load(self.models_dir)
        dspec = bundle.model(manifest.DETECTOR)
        self._detector = Detector(TfliteRunner(dspec, self._threads, self._runtime), dspec,
                                  self._detector_settings)
        lspec = bundle.model(LANDMARKS)
        self._model = LandmarkModel(TfliteRunner(lspec, self._threads, self._runtime), lspec)
        logger.info("face landmarks ready: %s", lspec.version)

    def _stop(self) -> None:
        self._detector = None
        self._model = None

    def points(self, frame: Frame) -> Points | None:
        """The main face's landmarks in frame pixels; None when no face is found."""
        detector, model = self._loaded()
        faces = detector.detect(frame)
        return model.points(frame, faces[0]) if faces else None

    def burst_points(self, frames: Sequence[Frame]) -> list[Points | None]:
        """Landmarks per frame of a burst: the detector finds the face once, later frames
        follow it from the previous frame's landmarks (the detector again when they lose it)."""
        _, model = self._loaded()
        found: list[Points | None] = []
        for frame in frames:
            previous = found[-1] if found else None
            points = None if previous is None else model.follow(frame, previous)
            found.append(points if points is not None else self.points(frame))
        return found

    def _loaded(self) -> tuple[Detector, LandmarkModel]:
        if self._detector is None or self._model is None:
            raise VerifyError("face landmarks used before start()", "call start() first")
        return self._detector, self._model


def create(models_dir: Path, runtime: Runtime = "auto", num_threads: int = 1,
           detector: DetectorSettings | None = None) -> TfliteLandmarks:
    """Build the landmark finder (models load at ``start``)."""
    return TfliteLandmarks(models_dir, runtime, num_threads, detector)
