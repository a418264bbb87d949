"""BlazeFace around the model: letterbox (a few points per model pixel), anchors, decoding, NMS."""

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from firmware.face import picture

Array = NDArray[np.float32]

#: Keypoint order in the regressor output (image left/right as seen in the picture).
KEYPOINTS = ("eye_left", "eye_right", "nose_tip", "mouth", "ear_left", "ear_right")


@dataclass(frozen=True)
class AnchorSpec:
    """SSD anchor layout of a BlazeFace model (from the manifest's ``anchors`` table)."""

    input_size: int = 128
    strides: tuple[int, ...] = (8, 16, 16, 16)
    offset: float = 0.5
    num_anchors: int = 896

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> "AnchorSpec":
        """Build from the manifest's ``anchors`` table."""
        return cls(
            input_size=int(data["input_size"]),
            strides=tuple(int(s) for s in data["strides"]),
            offset=float(data.get("offset", 0.5)),
            num_anchors=int(data["num_anchors"]),
        )


@dataclass(frozen=True)
class Detection:
    """One face in frame pixels: box (x0, y0, x1, y1), score, and 6 keypoints (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: Array

    @property
    def width(self) -> float:
        """Box width in frame pixels."""
        return self.box[2] - self.box[0]


@dataclass(frozen=True)
class Letterbox:
    """How a frame was scaled and padded into the square model input."""

    scale: float
    pad_x: float
    pad_y: float


def anchors(spec: AnchorSpec) -> Array:
    """Anchor centres (N, 2) in [0, 1], in the model's output order.

    Consecutive layers with the same stride share one grid; each layer adds two anchors per
    cell (MediaPipe's aspect ratio 1 plus the interpolated scale), and all have size 1.
    """
    centres: list[Array] = []
    i = 0
    while i < len(spec.strides):
        stride = spec.strides[i]
        same = 1
        while i + same < len(spec.strides) and spec.strides[i + same] == stride:
            same += 1
        grid = int(np.ceil(spec.input_size / stride))
        ys, xs = np.mgrid[0:grid, 0:grid].astype(np.float32)
        cells = np.stack([(xs + spec.offset) / grid, (ys + spec.offset) / grid], axis=-1)
        centres.append(np.repeat(cells.reshape(-1, 2), 2 * same, axis=0))
        i += same
    result = np.concatenate(centres).astype(np.float32)
    if len(result) != spec.num_anchors:
        raise ValueError(
            f"anchor layout gives {len(result)} anchors, manifest says {spec.num_anchors}"
        )
    return result


#: Sample points per model pixel and axis: each model pixel is the mean of TAPS x TAPS frame
#: pixels spread evenly over the part of the frame it covers (a box filter read at points).
TAPS = 2


@dataclass(frozen=True)
class Sampler:
    """Which frame pixels each model pixel of one frame shape reads, worked out once per shape."""

    taps: NDArray[np.intp]  # (TAPS * TAPS, content rows, content columns): flat pixel indices
    placed: Letterbox
    rows: slice  # where the frame's content lands in the model input
    cols: slice


@functools.lru_cache(maxsize=8)
def sampler(height: int, width: int, size: int) -> Sampler:
    """The sample points letterboxing a ``height`` x ``width`` frame into a ``size`` square.

    Model pixel j covers frame edge coordinates ``[j / scale, (j + 1) / scale)``; its taps sit
    at the centres of TAPS equal parts of that span, on the pixel that holds each centre.
    """
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    parts = (np.arange(TAPS) + 0.5) / TAPS

    def axis(count: int, limit: int) -> NDArray[np.intp]:
        spots = (np.arange(count)[:, None] + parts[None, :]) / scale
        return np.clip(np.floor(spots), 0, limit - 1).astype(np.intp)  # (count, TAPS)

    ys, xs = axis(new_h, height), axis(new_w, width)
    flat = ys[:, None, :, None] * width + xs[None, :, None, :]  # (rows, cols, TAPS, TAPS)
    taps = np.ascontiguousarray(flat.reshape(new_h, new_w, TAPS * TAPS).transpose(2, 0, 1))
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    return Sampler(taps=taps, placed=Letterbox(scale=scale, pad_x=pad_x, pad_y=pad_y),
                   rows=slice(pad_y, pad_y + new_h), cols=slice(pad_x, pad_x + new_w))


def letterbox_into(frame: NDArray[np.uint8], out: Array) -> Letterbox:
    """Letterbox an RGB or RGBX frame into ``out`` (size, size, 3) as floats in [-1, 1], black
    around.

    Only TAPS x TAPS pixels per model pixel are read (one gather of whole pixels at indices
    worked out once per frame shape), never the whole frame; ``out`` may be the model's own
    input buffer, so nothing is copied after the gather. A camera's C-contiguous RGBX frame is
    read in place as one 4-byte word per pixel; an RGB frame as 3-byte elements. Both give the
    same model input, bit for bit.
    """
    height, width = frame.shape[:2]
    plan = sampler(height, width, out.shape[0])
    out.fill(-1.0)  # black: 0 / 127.5 - 1
    content = out[plan.rows, plan.cols]
    if picture.is_mapped(frame):
        _scale_words(frame, plan.taps, content)
    else:
        np.multiply(_tap_sums(frame, plan.taps), _UNIT, out=content, dtype=np.float32)
    content -= np.float32(1.0)
    return plan.placed


#: A sum of TAPS x TAPS bytes to [0, 2]: the model input plus 1.
_UNIT = np.float32(1 / (127.5 * TAPS * TAPS))
_LANE = np.uint32(0xFFFF)


def _tap_sums(frame: NDArray[np.uint8], taps: NDArray[np.intp]) -> NDArray[np.uint16]:
    """Per model pixel, the sum of its taps' colour bytes (rows, cols, 3) for an RGB frame."""
    rgb = np.ascontiguousarray(frame[..., :3])
    pixels = rgb.reshape(-1).view(np.dtype((np.void, 3)))  # one element per pixel
    picked = pixels.take(taps).view(np.uint8).reshape(*taps.shape, 3)
    return _plane_sum(picked, np.uint16)


def _plane_sum(planes: NDArray[Any], dtype: type[np.unsignedinteger[Any]]) -> NDArray[Any]:
    """The sum of an array's planes (its first axis) in ``dtype``: added plane by plane, which
    costs less than ``sum(axis=0)``."""
    total: NDArray[Any] = np.add(planes[0], planes[1], dtype=dtype)
    for plane in planes[2:]:
        total += plane
    return total


def _scale_words(frame: NDArray[np.uint8], taps: NDArray[np.intp], content: Array) -> None:
    """``content`` = the sum of each model pixel's taps times ``_UNIT``, for an RGBX frame.

    Each tap is one 4-byte word (R, G, B, X); its bytes are summed in 16-bit lanes of the
    words themselves (R and B in one word, G and X in another: four taps of at most 255 never
    carry into the next lane), and each colour is scaled into its own channel of ``content``.
    Splitting the words into bytes first would leave numpy loops three elements long (its
    slow case) in every later step.
    """
    words = frame.reshape(-1).view(np.uint32).take(taps)  # (TAPS * TAPS, rows, cols)
    red_blue, green = (_plane_sum(lanes, np.uint32) for lanes in picture.byte_pairs(words))
    for channel, value in enumerate((red_blue & _LANE, green & _LANE, red_blue >> np.uint32(16))):
        np.multiply(value, _UNIT, out=content[..., channel], dtype=np.float32)


def letterbox(frame: NDArray[np.uint8], size: int) -> tuple[Array, Letterbox]:
    """The (1, size, size, 3) model input for ``frame`` in a new array, and how it was placed."""
    tensor = np.empty((1, size, size, 3), np.float32)
    return tensor, letterbox_into(frame, tensor[0])


def candidate_floor(min_score: float, score_clip: float) -> float:
    """A logit below which no anchor can score ``min_score`` (the sigmoid only rises).

    Comparing the raw logits with it leaves the sigmoid to the few anchors above it; they are
    then judged exactly as before. Where clipping alone lifts every logit to the score, or no
    score is asked, every anchor is a candidate.
    """
    if min_score <= 0.0:
        return -math.inf
    if min_score >= 1.0:
        return 30.0  # float64 sigmoid first reaches 1.0 near 36.7
    logit = math.log(min_score / (1.0 - min_score))
    return -math.inf if logit <= -score_clip else logit - 1e-6


#: One candidate face in model pixels: 16 values (box x0 y0 x1 y1, then 6 keypoints x y) and
#: its score. Plain floats: a frame has a handful, and numpy's per-call cost would dominate.
Candidate = tuple[list[float], float]


def decode(
    regressors: Array,
    scores: Array,
    anchor_centres: Array,
    input_size: int,
    min_score: float,
    score_clip: float,
) -> list[Candidate]:
    """Raw outputs to the candidates whose sigmoid score reaches ``min_score``.

    Only anchors whose raw logit clears :func:`candidate_floor` are read (one comparison over
    all anchors in numpy); those few are scored and decoded in plain floats.
    """
    logits = scores.reshape(-1)
    picked = np.flatnonzero(logits >= candidate_floor(min_score, score_clip))
    raw = regressors.reshape(-1, regressors.shape[-1])[picked, :16].tolist()
    centres = anchor_centres[picked].tolist()
    found: list[Candidate] = []
    for values, logit, (ax, ay) in zip(raw, logits[picked].tolist(), centres, strict=True):
        prob = 1.0 / (1.0 + math.exp(-min(max(logit, -score_clip), score_clip)))
        if prob < min_score:
            continue
        cx, cy = ax * input_size, ay * input_size
        x, y, half_w, half_h = values[0] + cx, values[1] + cy, values[2] / 2, values[3] / 2
        row = [x - half_w, y - half_h, x + half_w, y + half_h]
        row += [v + (cx if k % 2 == 0 else cy) for k, v in enumerate(values[4:16])]
        found.append((row, prob))
    return found


def weighted_nms(candidates: Sequence[Candidate], iou_threshold: float) -> list[Candidate]:
    """MediaPipe-style weighted NMS: overlapping candidates are averaged, weighted by score.

    Averaging (rather than keeping only the best box) steadies the keypoints from frame to
    frame, which the alignment depends on. Each merged face keeps its best member's score.
    """
    order = sorted(candidates, key=lambda c: -c[1])
    used = [False] * len(order)
    merged: list[Candidate] = []
    for i, (best, score) in enumerate(order):
        if used[i]:
            continue
        group = [i] + [j for j in range(i + 1, len(order))
                       if not used[j] and _iou(best, order[j][0]) > iou_threshold]
        total = sum(order[j][1] for j in group)
        average = [sum(order[j][0][k] * order[j][1] for j in group) / total
                   for k in range(len(best))]
        merged.append((average, score))
        for j in group:
            used[j] = True
    return merged


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-9)


def to_frame(merged: Sequence[Candidate], box: Letterbox) -> list[Detection]:
    """Undo the letterbox: model pixels back to frame pixels, best score first."""
    found = []
    for row, score in merged:
        xs = [(v - box.pad_x) / box.scale for v in row[0::2]]
        ys = [(v - box.pad_y) / box.scale for v in row[1::2]]
        points = np.array(list(zip(xs[2:], ys[2:], strict=True)), dtype=np.float32)
        found.append(Detection(box=(xs[0], ys[0], xs[1], ys[1]), score=score, keypoints=points))
    return sorted(found, key=lambda d: -d.score)
