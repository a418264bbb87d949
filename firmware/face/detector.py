"""BlazeFace decoding in numpy: letterbox, anchors, box and keypoint decoding, weighted NMS."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

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


def letterbox(frame: NDArray[np.uint8], size: int) -> tuple[Array, Letterbox]:
    """Scale an RGB frame into a black ``size`` square, as floats in [-1, 1].

    Only the pixels the model needs are read: a frame several times the input size is first
    sampled on a strided grid (``OVERSAMPLE`` points per model pixel and axis; the frame is
    never copied whole), and that small grid is resized with Pillow's antialiasing filter onto
    exactly the region the whole frame maps to.
    """
    height, width = frame.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    grid, box = sample_grid(frame, scale)
    resized = Image.fromarray(grid).resize((new_w, new_h), Image.Resampling.BILINEAR, box=box)
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = np.asarray(resized)
    tensor = canvas.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)
    return tensor[None], Letterbox(scale=scale, pad_x=pad_x, pad_y=pad_y)


#: Grid points kept per model pixel (per axis) before the antialiasing resize.
OVERSAMPLE = 2


def sample_grid(
    frame: NDArray[np.uint8], scale: float
) -> tuple[NDArray[np.uint8], tuple[float, float, float, float]]:
    """Every ``step``-th pixel (centred in its cell) and the box the whole frame covers in it.

    Grid pixel i sits on frame pixel ``offset + step*i``; frame edge coordinate v (pixel
    centres at +0.5) is grid coordinate ``(v - offset - 0.5) / step + 0.5``.
    """
    height, width = frame.shape[:2]
    step = max(1, int(1 / (scale * OVERSAMPLE)))
    if step == 1:
        return frame, (0.0, 0.0, float(width), float(height))
    offset = (step - 1) // 2
    # One 3-byte element per pixel: numpy copies the strided view about twice as fast.
    pixels = np.ascontiguousarray(frame).reshape(height, -1).view(np.dtype((np.void, 3)))
    picked = np.ascontiguousarray(pixels[offset::step, offset::step])
    rows, cols = picked.shape
    grid = picked.view(np.uint8).reshape(rows, cols, 3)

    def edge(v: int, limit: int) -> float:
        return min(max((v - offset - 0.5) / step + 0.5, 0.0), float(limit))

    return grid, (edge(0, cols), edge(0, rows), edge(width, cols), edge(height, rows))


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
    for the anchors whose sigmoid score reaches ``min_score``.
    """
    raw = regressors.reshape(-1, regressors.shape[-1])
    logits = np.clip(scores.reshape(-1).astype(np.float64), -score_clip, score_clip)
    probs = 1.0 / (1.0 + np.exp(-logits))
    keep = probs >= min_score
    raw, centres, probs = raw[keep], anchor_centres[keep] * input_size, probs[keep]
    cx, cy = raw[:, 0] + centres[:, 0], raw[:, 1] + centres[:, 1]
    half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    points = raw[:, 4:16].reshape(-1, 6, 2) + centres[:, None, :]
    rows = np.concatenate([boxes, points.reshape(-1, 12)], axis=1).astype(np.float32)
    return rows, probs.astype(np.float32)


def weighted_nms(rows: Array, scores: Array, iou_threshold: float) -> list[tuple[Array, float]]:
    """MediaPipe-style weighted NMS: overlapping candidates are averaged, weighted by score.

    Averaging (rather than keeping only the best box) steadies the keypoints from frame to
    frame, which the alignment depends on.
    """
    order = np.argsort(-scores)
    rows, scores = rows[order], scores[order]
    remaining = np.ones(len(rows), dtype=bool)
    merged: list[tuple[Array, float]] = []
    for i in range(len(rows)):
        if not remaining[i]:
            continue
        overlap = _iou(rows[i, :4], rows[:, :4]) > iou_threshold
        group = remaining & overlap
        group[i] = True
        weights = scores[group]
        merged.append(((rows[group] * weights[:, None]).sum(0) / weights.sum(), float(scores[i])))
        remaining &= ~group
    return merged


def _iou(box: Array, boxes: Array) -> Array:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.asarray(inter / np.maximum(area + areas - inter, 1e-9), dtype=np.float32)


def to_frame(merged: Sequence[tuple[Array, float]], box: Letterbox) -> list[Detection]:
    """Undo the letterbox: model pixels back to frame pixels, best score first."""
    found = []
    for row, score in merged:
        xs = (row[0::2] - box.pad_x) / box.scale
        ys = (row[1::2] - box.pad_y) / box.scale
        points = np.stack([xs[2:], ys[2:]], axis=1).astype(np.float32)
        found.append(
            Detection(
                box=(float(xs[0]), float(ys[0]), float(xs[1]), float(ys[1])),
                score=score,
                keypoints=points,
            )
        )
    return sorted(found, key=lambda d: -d.score)
