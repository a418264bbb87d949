"""Face landmarks on TFLite: the BlazeFace detector and the face-mesh model, per the manifest.

A check-in passes the face engine's detections of the burst (``FrameResult.face``), so no
frame is detected twice and the landmarks' own detector is never loaded. Only a caller that
gives no detections (``points``, the tools) loads it, on first use; it is its own runner, so
nothing is shared across threads.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

from firmware.core.lifecycle import Lifecycle
from firmware.errors import VerifyError
from firmware.face import manifest
from firmware.face.backends.runner import Runtime, TfliteRunner
from firmware.face.base import Frame
from firmware.face.detector import Detection
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
        lspec = bundle.model(LANDMARKS)
        self._model = LandmarkModel(TfliteRunner(lspec, self._threads, self._runtime), lspec)
        logger.info("face landmarks ready: %s", lspec.version)

    def _stop(self) -> None:
        self._detector = None
        self._model = None

    @property
    def model(self) -> LandmarkModel:
        """The loaded face-mesh model (VerifyError before ``start``)."""
        return self._loaded()

    def points(self, frame: Frame) -> Points | None:
        """The main face's landmarks in frame pixels (found by this backend's own detector,
        loaded on first use); None when no face is found."""
        model = self._loaded()
        faces = self._own_detector().detect(frame)
        return model.points(frame, faces[0]) if faces else None

    def burst_points(self, frames: Sequence[Frame],
                     faces: Sequence[Detection | None] = ()) -> list[Points | None]:
        """Landmarks per frame of a burst: the first frame from its face, later frames follow
        the previous frame's landmarks (from their face again when they lose it).

        ``faces`` are the face engine's detections per frame (None: it found none there);
        without them this backend's own detector finds the faces.
        """
        model = self._loaded()
        given = len(faces) == len(frames)
        found: list[Points | None] = []
        for i, frame in enumerate(frames):
            previous = found[-1] if found else None
            points = None if previous is None else model.follow(frame, previous)
            if points is None:
                points = self._found(frame, faces[i]) if given else self.points(frame)
            found.append(points)
        return found

    def _found(self, frame: Frame, face: Detection | None) -> Points | None:
        return None if face is None else self._loaded().points(frame, face)

    def _loaded(self) -> LandmarkModel:
        if self._model is None:
            raise VerifyError("face landmarks used before start()", "call start() first")
        return self._model

    def _own_detector(self) -> Detector:
        if self._detector is None:
            dspec = manifest.load(self.models_dir).model(manifest.DETECTOR)
            self._detector = Detector(TfliteRunner(dspec, self._threads, self._runtime), dspec,
                                      self._detector_settings)
        return self._detector


def create(models_dir: Path, runtime: Runtime = "auto", num_threads: int = 1,
           detector: DetectorSettings | None = None) -> TfliteLandmarks:
    """Build the landmark finder (models load at ``start``)."""
    return TfliteLandmarks(models_dir, runtime, num_threads, detector)
