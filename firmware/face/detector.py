"""BlazeFace decoding in numpy: letterbox, anchors, box and keypoint decoding, weighted NMS."""

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    """Letterbox an RGB frame into ``out`` (size, size, 3) as floats in [-1, 1], black around.

    Only TAPS x TAPS pixels per model pixel are read (one gather of 3-byte pixels at indices
    worked out once per frame shape), never the whole frame; ``out`` may be the model's own
    input buffer, so nothing is copied after the gather.
    """
    height, width = frame.shape[:2]
    plan = sampler(height, width, out.shape[0])
    rgb = np.ascontiguousarray(frame[..., :3])
    pixels = rgb.reshape(-1).view(np.dtype((np.void, 3)))  # one element per pixel
    picked = pixels.take(plan.taps).view(np.uint8).reshape(*plan.taps.shape, 3)
    total = picked.sum(axis=0, dtype=np.uint16)
    out.fill(-1.0)  # black: 0 / 127.5 - 1
    content = out[plan.rows, plan.cols]
    np.multiply(total, np.float32(1 / (127.5 * TAPS * TAPS)), out=content, dtype=np.float32)
    content -= np.float32(1.0)
    return plan.placed


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


def decode(
    regressors: Array,
    scores: Array,
    anchor_centres: Array,
    input_size: int,
    min_score: float,
    score_clip: float,
) -> tuple[Array, Array]:
    """Raw outputs to (boxes (M, 4) x0 y0 x1 y1, keypoints (M, 6, 2)) in model pixels, and scores.

    Returns ``(rows, kept_scores)`` where each row is the 4 box values then 12 keypoint values,
    for the anchors whose sigmoid score reaches ``min_score``. Only anchors whose raw logit
    clears :func:`candidate_floor` are scored and decoded.
    """
    logits = scores.reshape(-1)
    picked = np.flatnonzero(logits >= candidate_floor(min_score, score_clip))
    clipped = np.clip(logits[picked].astype(np.float64), -score_clip, score_clip)
    probs = 1.0 / (1.0 + np.exp(-clipped))
    passed = probs >= min_score
    keep = picked[passed]
    rows = regressors.reshape(-1, regressors.shape[-1])[keep, :16]  # a copy: safe to edit
    centres = anchor_centres[keep] * input_size
    rows[:, 0:2] += centres  # box centre
    rows[:, 4:16] += np.tile(centres, 6)  # the 6 keypoints
    half = rows[:, 2:4] / 2
    rows[:, 2:4] = rows[:, 0:2] + half
    rows[:, 0:2] -= half
    return rows.astype(np.float32, copy=False), probs[passed].astype(np.float32)


def weighted_nms(rows: Array, scores: Array, iou_threshold: float) -> list[tuple[Array, float]]:
    """MediaPipe-style weighted NMS: overlapping candidates are averaged, weighted by score.

    Averaging (rather than keeping only the best box) steadies the keypoints from frame to
    frame, which the alignment depends on. Every overlap is worked out at once (the candidates
    are a handful per face).
    """
    order = np.argsort(-scores)
    rows, scores = rows[order], scores[order]
    overlaps = _iou_matrix(rows[:, :4]) > iou_threshold
    remaining = np.ones(len(rows), dtype=bool)
    merged: list[tuple[Array, float]] = []
    for i in range(len(rows)):
        if not remaining[i]:
            continue
        group = remaining & overlaps[i]
        group[i] = True
        weights = scores[group]
        merged.append(((rows[group] * weights[:, None]).sum(0) / weights.sum(), float(scores[i])))
        remaining &= ~group
    return merged


def _iou_matrix(boxes: Array) -> Array:
    """Intersection over union of every pair of boxes (x0, y0, x1, y1)."""
    x0 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y0 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x1 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y1 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = areas[:, None] + areas[None, :] - inter
    return np.asarray(inter / np.maximum(union, 1e-9), dtype=np.float32)


def to_frame(merged: Sequence[tuple[Array, float]], box: Letterbox) -> list[Detection]:
    """Undo the letterbox: model pixels back to frame pixels, best score first."""
    if not merged:
        return []
    rows = np.stack([row for row, _ in merged])
    xs = (rows[:, 0::2] - box.pad_x) / box.scale
    ys = (rows[:, 1::2] - box.pad_y) / box.scale
    points = np.stack([xs[:, 2:], ys[:, 2:]], axis=2).astype(np.float32)
    corners = np.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], axis=1).tolist()
    found = [
        Detection(box=(x0, y0, x1, y1), score=score, keypoints=points[i])
        for i, ((x0, y0, x1, y1), (_, score)) in enumerate(zip(corners, merged, strict=True))
    ]
    return sorted(found, key=lambda d: -d.score)
