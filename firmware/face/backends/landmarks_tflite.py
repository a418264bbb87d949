"""Face landmarks on TFLite: the BlazeFace detector and the face-mesh model, per the manifest.

Its own detector runner (not the face engine's): the check-in thread owns both, so nothing is
shared across threads, and the engine's modules stay as they are.
"""

import logging
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
        if self._detector is None or self._model is None:
            raise VerifyError("face landmarks used before start()", "call start() first")
        faces = self._detector.detect(frame)
        return self._model.points(frame, faces[0]) if faces else None


def create(models_dir: Path, runtime: Runtime = "auto", num_threads: int = 1,
           detector: DetectorSettings | None = None) -> TfliteLandmarks:
    """Build the landmark finder (models load at ``start``)."""
    return TfliteLandmarks(models_dir, runtime, num_threads, detector)
