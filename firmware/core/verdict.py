"""Face-check verdicts, per-frame quality figures and the guidance codes the UI turns into words."""

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What a check-in's face step concluded.

    ``no_match`` goes to a human for review; it is never an alarm on its own. ``unknown`` means
    the device could not judge (no usable face, dark room, camera fault) and says why.
    ``liveness_failed`` (set by the check-in, never by :func:`combine`): the face may match,
    but the burst did not show a live face (a photo, a screen, frozen frames); it goes to a
    human for review and is never an alarm either.
    """

    MATCH = "match"
    NO_MATCH = "no_match"
    UNKNOWN = "unknown"
    LIVENESS_FAILED = "liveness_failed"


class Guidance(StrEnum):
    """Why a frame could not be used; one code per failure, in the order the gates run."""

    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    FACE_OFF_CENTRE = "face_off_centre"
    HEAD_TURNED = "head_turned"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    BLURRY = "blurry"
    CAMERA_FAULT = "camera_fault"


@dataclass(frozen=True)
class Quality:
    """Measured figures of one frame's face; these are sent with a check-in, never the image."""

    faces: int
    detector_score: float
    face_px: float
    brightness: float
    sharpness: float
    yaw: float


@dataclass(frozen=True)
class FrameCheck:
    """One frame's result: a distance to the template, or the reason it was not usable."""

    quality: Quality | None
    guidance: Guidance | None
    distance: float | None = None


@dataclass(frozen=True)
class Verdict:
    """The face step's conclusion over a burst of frames.

    ``distance`` is the median template distance over the frames that passed every gate (``None``
    when none did); ``guidance`` is the most frequent failure when the outcome is ``unknown``.
    """

    outcome: Outcome
    distance: float | None
    threshold: float
    guidance: Guidance | None
    frames_used: int
    frames_total: int
    quality: Quality | None
    model_version: str

    @property
    def score(self) -> float | None:
        """Similarity in [0, 1] for display: 1 at distance 0, 0.5 at the threshold."""
        if self.distance is None or self.threshold <= 0:
            return None
        return max(0.0, 1.0 - self.distance / (2.0 * self.threshold))


def decide(distance: float, threshold: float) -> Outcome:
    """``match`` when the distance is strictly below the threshold, else ``no_match``."""
    return Outcome.MATCH if distance < threshold else Outcome.NO_MATCH


def combine(checks: Sequence[FrameCheck], threshold: float, model_version: str) -> Verdict:
    """Fold a burst's frame checks into one verdict.

    The median distance of the usable frames decides, so a single odd frame cannot flip the
    result either way. With no usable frame the outcome is ``unknown`` with the most common
    failure as guidance (ties go to the earlier gate).
    """
    usable = [c for c in checks if c.guidance is None and c.distance is not None]
    if usable:
        distances = [c.distance for c in usable if c.distance is not None]
        distance = float(statistics.median(distances))
        best = min(usable, key=lambda c: c.distance if c.distance is not None else 0.0)
        return Verdict(
            outcome=decide(distance, threshold),
            distance=distance,
            threshold=threshold,
            guidance=None,
            frames_used=len(usable),
            frames_total=len(checks),
            quality=best.quality,
            model_version=model_version,
        )
    return Verdict(
        outcome=Outcome.UNKNOWN,
        distance=None,
        threshold=threshold,
        guidance=_main_failure(checks),
        frames_used=0,
        frames_total=len(checks),
        quality=_best_quality(checks),
        model_version=model_version,
    )


def _main_failure(checks: Sequence[FrameCheck]) -> Guidance:
    codes = [c.guidance for c in checks if c.guidance is not None]
    if not codes:
        return Guidance.CAMERA_FAULT  # an empty burst: the camera delivered nothing
    order = list(Guidance)
    counts = Counter(codes)
    return max(counts, key=lambda g: (counts[g], -order.index(g)))


def _best_quality(checks: Sequence[FrameCheck]) -> Quality | None:
    measured = [c.quality for c in checks if c.quality is not None]
    if not measured:
        return None
    return max(measured, key=lambda q: q.detector_score)
