"""Face landmarks (the 468-point MediaPipe face mesh) on a runner: region, tensor, points.

The region is the square around the detector's face box, scaled by the manifest's
``roi_scale`` (1.5 for the face mesh) and kept upright (check-in faces are near upright; the
eye line's roll is not undone). The points come back in frame pixels.
"""

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from firmware.errors import VerifyError
from firmware.face import picture
from firmware.face.base import Frame
from firmware.face.detector import Detection
from firmware.face.manifest import ModelSpec
from firmware.face.pipeline import FillingRunner

logger = logging.getLogger(__name__)

LANDMARKS = "face_landmarks"  # the manifest key
Points = NDArray[np.float64]
_UNIT = np.float32(1.0 / 255.0)  # a pixel byte to 0..1


@dataclass(frozen=True)
class Region:
    """A square region of the frame: top-left corner and side, in frame pixels."""

    x0: float
    y0: float
    side: float

    @classmethod
    def around(cls, face: Detection, scale: float) -> "Region":
        """The square of ``scale`` times the face box's longer side, on the box's centre."""
        x0, y0, x1, y1 = face.box
        side = max(x1 - x0, y1 - y0) * scale
        return cls((x0 + x1 - side) / 2, (y0 + y1 - side) / 2, side)

    @classmethod
    def tracking(cls, points: "Points", scale: float) -> "Region":
        """The square of ``scale`` times the landmarks' extent, on their centre: where the
        face is in the next frame of a burst (as MediaPipe tracks it, without a detector)."""
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        side = max(x1 - x0, y1 - y0) * scale
        return cls((x0 + x1 - side) / 2, (y0 + y1 - side) / 2, float(side))


def crop(frame: Frame, region: Region, size: int,
         out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """The region resized to ``size`` x ``size``, RGB in 0..1 (outside the frame: black).

    Bilinear, point-sampled at the model pixels' centres as Pillow's EXTENT transform samples
    (its neighbours clamped at the frame's edges), within 2 grey levels of it: Pillow's
    bilinear ``transform`` costs 1.3 ms a crop, its nearest-neighbour one 0.03 ms, so the four
    neighbours of every sample are four nearest-neighbour transforms (the region shifted by
    half a pixel each way) mixed by their weights as ``Image.composite`` mixes (8-bit weights).
    Only the part of the frame under the region (and a 2-pixel margin) is read
    (:func:`firmware.face.picture.part`: an RGBX frame in place, an RGB one copied once; a
    whole 3 MP frame copied per crop cost 10 ms). The result is scaled to 0..1 into ``out``
    when given (the model's input buffer, reused per frame).
    """
    target = np.empty((size, size, 3), np.float32) if out is None else out
    bounds = part_bounds(frame, region)
    if bounds is None:
        target.fill(0.0)
        return target
    left, top, right, bottom = bounds
    part = picture.part(frame, bounds)
    local = Region(region.x0 - left, region.y0 - top, region.side)
    across, inside_x = _second_weights(local.x0, local.side / size, size, right - left)
    down, inside_y = _second_weights(local.y0, local.side / size, size, bottom - top)
    mix_x = Image.fromarray(np.ascontiguousarray(np.broadcast_to(across, (size, size))))
    mix_y = Image.fromarray(np.ascontiguousarray(np.broadcast_to(down[:, None], (size, size))))
    # Image.composite(a, b, mask) is b copied, then a pasted onto it through the mask; the
    # taps are this crop's own pictures, so they are pasted onto in place (no copies).
    upper = _tap(part, local, size, -0.5, -0.5)
    upper.paste(_tap(part, local, size, 0.5, -0.5), None, mix_x)
    lower = _tap(part, local, size, -0.5, 0.5)
    lower.paste(_tap(part, local, size, 0.5, 0.5), None, mix_x)
    upper.paste(lower, None, mix_y)
    _to_unit(upper, target)
    if not (inside_x.all() and inside_y.all()):  # samples off the frame are black
        target[~inside_y] = 0.0
        target[:, ~inside_x] = 0.0
    return target


def part_bounds(frame: Frame, region: Region) -> tuple[int, int, int, int] | None:
    """The part of the frame under the region with a 2-pixel margin for the bilinear
    neighbours, as (left, top, right, bottom); None when the region misses the frame."""
    height, width = frame.shape[:2]
    left, top = max(0, math.floor(region.x0) - 2), max(0, math.floor(region.y0) - 2)
    right = min(width, math.ceil(region.x0 + region.side) + 2)
    bottom = min(height, math.ceil(region.y0 + region.side) + 2)
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def _to_unit(mixed: Image.Image, target: NDArray[np.float32]) -> None:
    """The picture's colours scaled to 0..1 into ``target`` (size, size, 3): packed to RGB by
    Pillow first (an RGBX picture's colours read as a strided numpy view cost 9 times as much
    to convert)."""
    codes = np.frombuffer(mixed.tobytes("raw", "RGB"), np.uint8).reshape(target.shape)
    np.multiply(codes, _UNIT, out=target, dtype=np.float32)


def _tap(part: Image.Image, region: Region, size: int, dx: float, dy: float) -> Image.Image:
    """The nearest pixel to each sample point moved by (dx, dy): one bilinear neighbour."""
    x0, y0 = region.x0 + dx, region.y0 + dy
    return part.transform((size, size), Image.Transform.EXTENT,
                          (x0, y0, x0 + region.side, y0 + region.side),
                          resample=Image.Resampling.NEAREST)


def _second_weights(start: float, step: float, size: int,
                    limit: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Per sample along one axis: the second neighbour's bilinear weight (0..255) and whether
    the sample lies on the image. The sample at ``start + (i + 0.5) * step`` falls between
    pixel centres ``floor(s - 0.5)`` and the next; at the edges both clamp to the edge pixel,
    which is the second neighbour on the low edge and the first on the high edge."""
    spots = start + (np.arange(size) + 0.5) * step
    first = np.floor(spots - 0.5)
    weight = np.where(first < 0, 1.0, spots - 0.5 - first)
    weight = np.where(first + 1 > limit - 1, 0.0, weight)
    return np.rint(weight * 255).astype(np.uint8), (spots >= 0) & (spots < limit)


class LandmarkModel:
    """The face mesh on a runner: a frame and a detected face in, 468 (x, y) points out."""

    def __init__(self, runner: FillingRunner, spec: ModelSpec) -> None:
        decoding: Mapping[str, Any] = spec.extra.get("decoding", {})
        shape = spec.inputs[0].shape
        if len(shape) != 4 or shape[1] != shape[2]:
            raise VerifyError(f"manifest {spec.key}: input shape {shape} is not square NHWC",
                              "install a model bundle made for this firmware")
        self._runner = runner
        self._size = int(shape[1])
        self._scale = float(decoding.get("roi_scale", 1.5))
        self._min_flag = float(decoding.get("min_face_flag", 0.5))

    @property
    def runner(self) -> FillingRunner:
        """The face-mesh model's runner (the bench times its invoke alone)."""
        return self._runner

    @property
    def size(self) -> int:
        """The model's input side in pixels."""
        return self._size

    def region(self, face: Detection | None, previous: Points | None) -> Region:
        """The region ``points`` (from a face) or ``follow`` (from the previous landmarks)
        reads; one of the two must be given."""
        if previous is not None:
            return Region.tracking(previous, self._scale)
        if face is None:
            raise ValueError("a region needs a face or the previous frame's landmarks")
        return Region.around(face, self._scale)

    def points(self, frame: Frame, face: Detection) -> Points | None:
        """The face's 468 landmarks in frame pixels, None when the model sees no face there."""
        return self.points_in(frame, Region.around(face, self._scale))

    def follow(self, frame: Frame, previous: Points) -> Points | None:
        """The landmarks in the region the previous frame's landmarks give (no detector)."""
        return self.points_in(frame, Region.tracking(previous, self._scale))

    def points_in(self, frame: Frame, region: Region) -> Points | None:
        """The landmarks of the face in ``region``, None when the model sees no face there."""
        # The crop is written straight into the runner's input buffer (nothing to copy in).
        raw, flag = self._runner.run_filled(
            lambda buffer: crop(frame, region, self._size, buffer))[:2]
        chance = 1.0 / (1.0 + float(np.exp(-float(np.clip(flag.reshape(-1)[-1], -80, 80)))))
        if chance < self._min_flag:
            return None
        pixels = raw.reshape(-1, 3)[:, :2].astype(np.float64)
        pixels *= region.side / self._size
        pixels += (region.x0, region.y0)
        return pixels
