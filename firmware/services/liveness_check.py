"""Liveness in the check-in: the challenge for a try, then the face and liveness verdicts.

The face engine judges every frame of the burst as always; when its verdict is ``match`` or
``no_match``, the burst must also be live (``firmware.face.liveness``): not one frame
repeated, one identity throughout, landmarks that no single homography explains, and the
challenge met. A face the engine could not judge (``unknown``) keeps its own guidance.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from firmware.camera.base import Burst, Frame
from firmware.core.verdict import FrameCheck, Outcome, Verdict, combine
from firmware.face import liveness
from firmware.face.base import FaceEngine, FrameResult
from firmware.face.detector import Detection
from firmware.face.liveness import Challenge, Failure, LivenessResult, LivenessSettings, Points
from firmware.face.matcher import Template

logger = logging.getLogger(__name__)


class LandmarkSource(Protocol):
    """The main face's landmarks per frame (``firmware.face.backends.landmarks_tflite``)."""

    @property
    def running(self) -> bool:
        """Whether its models are loaded."""
        ...

    def start(self) -> None:
        """Load the models (VerifyError when they cannot be)."""
        ...

    def stop(self) -> None:
        """Release the models."""
        ...

    def burst_points(self, frames: Sequence[Frame],
                     faces: Sequence[Detection | None] = ()) -> list[Points | None]:
        """468 face-mesh points in frame pixels per frame, None where no face is found;
        ``faces`` are the engine's detections per frame (so no frame is detected twice)."""
        ...


@dataclass(frozen=True)
class Judged:
    """A burst's face verdict, its liveness result (None: not judged) and seconds per stage."""

    verdict: Verdict
    liveness: LivenessResult | None
    timings: dict[str, float] = field(default_factory=dict)


class LivenessCheck:
    """Draws challenges and judges bursts; ``draw`` picks the challenge index (tests)."""

    def __init__(self, landmarks: LandmarkSource, settings: LivenessSettings,
                 draw: Callable[[int], int] | None = None) -> None:
        self.landmarks = landmarks
        self.settings = settings
        self._draw = draw

    @property
    def ready(self) -> bool:
        """Whether the landmark models are loaded (without them no burst can be judged)."""
        return self.landmarks.running

    def challenge(self) -> Challenge:
        """The next try's challenge, at random among the configured ones."""
        allowed = self.settings.challenges
        return liveness.choose(allowed, None if self._draw is None else self._draw(len(allowed)))

    def judge(self, burst: Burst, engine: FaceEngine, template: Template,
              challenge: Challenge) -> Judged:
        """The face verdict of the burst and, when the face could be judged, its liveness."""
        results = [engine.check(frame) for frame in burst.frames]
        verdict = combine([_against(r, template) for r in results], engine.threshold,
                          engine.model_version)
        timings = _sum_timings(results)
        if verdict.outcome is Outcome.UNKNOWN:
            return Judged(verdict, None, timings)
        started = time.perf_counter()
        result = self.live(burst, results, challenge)
        timings["liveness"] = time.perf_counter() - started
        return Judged(verdict, result, timings)

    def live(self, burst: Burst, results: Sequence[FrameResult],
             challenge: Challenge) -> LivenessResult:
        """The liveness checks on a burst whose frames the engine already checked (the
        embeddings of the frames that passed its gates are compared with each other)."""
        settings = self.settings
        if liveness.frozen(burst.frames, burst.captured, settings.min_frame_change):
            logger.warning("liveness: the burst is one frame repeated or its times stand still")
            return LivenessResult(challenge, Failure.FROZEN)
        tracks = self.landmarks.burst_points(burst.frames, [r.face for r in results])
        embeddings = [r.embedding for r in results if r.embedding is not None]
        result = liveness.judge(challenge, tracks, embeddings, settings)
        logger.info("liveness (%s): %s %s", challenge.value,
                    "passed" if result.passed else f"failed ({result.failure})", result.figures)
        return result


def _against(result: FrameResult, template: Template) -> FrameCheck:
    if result.embedding is None:
        return FrameCheck(quality=result.quality, guidance=result.guidance)
    return FrameCheck(quality=result.quality, guidance=None,
                      distance=template.distance(result.embedding))


def _sum_timings(results: list[FrameResult]) -> dict[str, float]:
    total: dict[str, float] = {}
    for result in results:
        for stage, seconds in result.timings.items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total
