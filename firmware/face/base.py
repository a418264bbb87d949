"""The face engine interface: check frames, enrol a template, verify a burst into a Verdict."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from firmware.core.lifecycle import Lifecycle
from firmware.core.verdict import FrameCheck, Guidance, Quality, Verdict, combine
from firmware.face import matcher
from firmware.face.detector import Detection

Frame = NDArray[np.uint8]


class ModelRunner(Protocol):
    """A loaded model: float tensor in, float outputs (manifest order) out."""

    def run(self, tensor: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        """Run the model once."""
        ...


@dataclass(frozen=True)
class FrameResult:
    """One frame through the pipeline: an embedding, or the guidance code that stopped it.

    ``timings`` holds seconds per stage that ran (detect, align, quality, embed). ``face`` is
    the main face the detector found (None: none found, or a backend without a detector), so later
    stages of a check-in (the liveness landmarks) need not detect the frame again.
    """

    guidance: Guidance | None
    quality: Quality | None
    embedding: NDArray[np.float32] | None
    timings: dict[str, float] = field(default_factory=dict)
    face: Detection | None = None


class FaceEngine(Lifecycle):
    """Detect, align, gate and embed; enrol and verify are built on ``check``.

    Subclasses set ``threshold``, ``model_sha256`` and ``model_version`` in ``_start`` and
    implement ``check``. Frames are RGBX uint8 arrays (height, width, 4) as the camera gives
    them (read in place), or RGB ones (height, width, 3) from image files.
    """

    describe: str = "face engine"
    threshold: float = 0.0
    model_sha256: str = ""
    model_version: str = ""

    def check(self, frame: Frame) -> FrameResult:
        """Run one frame through the gates and, if it passes, the embedder."""
        raise NotImplementedError

    def enroll(self, frames: Sequence[Frame]) -> matcher.Template:
        """A template from the frames that pass every gate (needs at least one)."""
        embeddings = [r.embedding for r in map(self.check, frames) if r.embedding is not None]
        return matcher.build(embeddings, self.model_sha256, self.threshold)

    def verify(self, frames: Sequence[Frame], template: matcher.Template) -> Verdict:
        """The verdict for a burst of frames against the enrolled template."""
        return combine([self.frame_check(f, template) for f in frames], self.threshold,
                       self.model_version)

    def frame_check(self, frame: Frame, template: matcher.Template) -> FrameCheck:
        """One frame's gates and distance, as the verdict rules consume them."""
        result = self.check(frame)
        if result.embedding is None:
            return FrameCheck(quality=result.quality, guidance=result.guidance)
        distance = template.distance(result.embedding)
        return FrameCheck(quality=result.quality, guidance=None, distance=distance)
