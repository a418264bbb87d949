"""Face chips like dlib's get_face_chip (150 px, padding 0.25), from BlazeFace keypoints, no dlib.

dlib aligns its 5 landmarks (eye corners, nose base) to a mean face; BlazeFace gives other
points (eye centres, nose tip, mouth, ears). TEMPLATE holds where BlazeFace's points land in
dlib's own chips: measured with tests/firmware/face/calibrate_alignment.py over the sample
photos, their mirror images and +-12 degree rotations (30 faces), then made left-right
symmetric. A weighted least-squares similarity transform maps the keypoints onto it.
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from firmware.face import picture

CHIP_SIZE = 150

#: BlazeFace keypoints (eye left, eye right, nose tip, mouth, ear left, ear right) in chip px.
TEMPLATE = np.array(
    [[45.4, 48.7], [103.6, 48.7], [74.5, 83.1], [74.5, 112.4], [10.6, 60.7], [138.4, 60.7]],
    dtype=np.float64,
)
#: Fit weights: the eyes are the steadiest points; the nose tip moves with yaw, ears hide.
WEIGHTS = np.array([1.0, 1.0, 0.3, 0.5, 0.0, 0.0], dtype=np.float64)


#: A 2x3 affine as six floats (a, b, c, d, e, f): x' = a x + b y + c, y' = d x + e y + f.
Affine = tuple[float, float, float, float, float, float]

#: Sample points per chip pixel and axis: each chip pixel is the mean of TAPS x TAPS nearest
#: pixels spread over its footprint (a box filter read at points), like dlib's pyramid.
TAPS = 2


@dataclass(frozen=True)
class Similarity:
    """chip = scale * R(angle) @ image + shift, stored as a 2x3 matrix, with its inverse."""

    matrix: NDArray[np.float64]

    @property
    def scale(self) -> float:
        """Chip pixels per image pixel."""
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    def inverse(self) -> NDArray[np.float64]:
        """2x3 matrix taking chip pixels to image pixels."""
        a, b, c, d, e, f = (float(v) for v in self.matrix.reshape(-1))
        return np.array(invert((a, b, c, d, e, f)), dtype=np.float64).reshape(2, 3)


def fit(points: NDArray[np.floating], template: NDArray[np.float64] = TEMPLATE,
        weights: NDArray[np.float64] = WEIGHTS) -> Similarity:
    """Weighted least-squares similarity (Umeyama) taking ``points`` onto ``template``."""
    return Similarity(np.array(fit_affine(points, template, weights)).reshape(2, 3))


def fit_affine(points: NDArray[np.floating], template: NDArray[np.float64] = TEMPLATE,
               weights: NDArray[np.float64] = WEIGHTS) -> Affine:
    """:func:`fit` in plain floats: in 2-D, Umeyama's rotation and scale have a closed form.

    With both point sets centred on their weighted means, ``p = sum w (s . d)`` and
    ``q = sum w (s x d)`` give the angle ``atan2(q, p)`` and the scale ``hypot(p, q) / var``
    (the sum of singular values Umeyama takes, reflections excluded). The template's side is
    worked out once (for the default template); points of weight 0 add exactly nothing and
    are skipped.
    """
    target = _DEFAULT if template is TEMPLATE and weights is WEIGHTS else _target(template, weights)
    src = np.asarray(points, dtype=np.float64).tolist()
    if len(src) != target.count:
        raise ValueError(f"{len(src)} points for a template of {target.count}")
    sx = sy = 0.0
    for i, wi, _, _ in target.terms:
        sx += wi * src[i][0]
        sy += wi * src[i][1]
    sx, sy = sx / target.total, sy / target.total
    p = q = var = 0.0
    for i, wi, u, v in target.terms:
        x, y = src[i][0] - sx, src[i][1] - sy
        p += wi * (x * u + y * v)
        q += wi * (x * v - y * u)
        var += wi * (x * x + y * y)
    var = max(var / target.total, 1e-12)  # coincident points: a huge scale, a blank chip
    cos, sin = p / target.total / var, q / target.total / var
    dx, dy = target.mean
    return (cos, -sin, dx - cos * sx + sin * sy, sin, cos, dy - sin * sx - cos * sy)


@dataclass(frozen=True)
class _Target:
    """A template's side of the fit: its weighted mean, and (index, weight, centred x, y) of
    each point that has a weight."""

    count: int
    total: float
    mean: tuple[float, float]
    terms: tuple[tuple[int, float, float, float], ...]


def _target(template: NDArray[np.float64], weights: NDArray[np.float64]) -> _Target:
    dst = [(float(x), float(y)) for x, y in template.tolist()]
    w = [float(v) for v in weights.tolist()]
    if len(w) != len(dst):
        raise ValueError(f"{len(w)} weights for a template of {len(dst)} points")
    total = sum(w)
    dx = sum(wi * x for wi, (x, _) in zip(w, dst, strict=True)) / total
    dy = sum(wi * y for wi, (_, y) in zip(w, dst, strict=True)) / total
    terms = tuple((i, wi, x - dx, y - dy) for i, (wi, (x, y)) in enumerate(zip(w, dst, strict=True))
                  if wi != 0.0)
    return _Target(count=len(dst), total=total, mean=(dx, dy), terms=terms)


_DEFAULT = _target(TEMPLATE, WEIGHTS)


def invert(m: Affine) -> Affine:
    """The inverse of an invertible 2x3 affine."""
    a, b, c, d, e, f = m
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return (ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f))


def chip(frame: NDArray[np.uint8], keypoints: NDArray[np.floating]) -> NDArray[np.uint8]:
    """The aligned 150x150 RGB chip for one face's BlazeFace keypoints, from an RGB or RGBX frame.

    Only the chip's footprint is read: shrunk by an integer factor in one Pillow reduce while
    a chip pixel would still span four or more of its pixels, then read at TAPS x TAPS nearest
    points per chip pixel by one fixed-point affine warp and averaged by one reduce (Pillow's
    bilinear affine is the generic, per-pixel slow path). A camera's RGBX frame is never
    unpacked: the reduce reads the footprint straight from the frame mapped as a picture, and
    an unshrunk footprint is copied out row by row (4-byte pixels as they are: the warp then
    reads it warm, faster than gathering from the cold frame). An RGB frame's footprint is
    first cut out into Pillow's 4-byte layout. Both give the same chip, bit for bit.
    """
    to_image = invert(fit_affine(keypoints))
    factor = shrink_factor(to_image)
    x0, y0, x1, y1 = footprint(frame.shape, to_image, factor)
    a, b, c, d, e, f = to_image
    local = (a, b, c - x0, d, e, f - y0)  # into the footprint (exact: integer shifts)
    shrinks = factor > 1 and min(x1 - x0, y1 - y0) >= factor
    if picture.is_mapped(frame) and shrinks:
        sampled = picture.mapped(frame).reduce(factor, _reduced_box((x0, y0, x1, y1), factor))
    else:
        sampled = _cut(frame, (x0, y0, x1, y1))
        if shrinks:
            sampled = sampled.reduce(factor, _reduced_box((0, 0, x1 - x0, y1 - y0), factor))
    if shrinks:
        local = _shrunk_map(local, factor)
    warped = sampled.transform((CHIP_SIZE * TAPS, CHIP_SIZE * TAPS), Image.Transform.AFFINE,
                               _pillow_coefficients(_taps(local)), Image.Resampling.NEAREST)
    # Packed straight to 3-byte pixels (a convert to RGB first, then asarray, cost twice that)
    packed = warped.reduce(TAPS).tobytes("raw", "RGB")
    return np.frombuffer(packed, np.uint8).reshape(CHIP_SIZE, CHIP_SIZE, 3)


def shrink_factor(to_image: Affine) -> int:
    """The integer reduce that leaves a chip pixel spanning 2 to 4 image pixels (1: none)."""
    scale = math.hypot(to_image[0], to_image[3])
    return max(1, int(scale / 2))


#: A part of the frame: (x0, y0, x1, y1), x1 and y1 exclusive.
Region = tuple[int, int, int, int]


def _reduced_box(region: Region, factor: int) -> Region:
    """The whole ``factor`` x ``factor`` blocks of ``region``, from its top left corner."""
    x0, y0, x1, y1 = region
    return (x0, y0, x0 + (x1 - x0) // factor * factor, y0 + (y1 - y0) // factor * factor)


def _shrunk_map(to_image: Affine, factor: int) -> Affine:
    """The map into the footprint shrunk by ``factor`` (box average, Pillow's reduce): reduced
    pixel i is centred on footprint pixel ``f*i + (f-1)/2``."""
    a, b, c, d, e, f = (v / factor for v in to_image)
    shift = (factor - 1) / (2 * factor)
    return (a, b, c - shift, d, e, f - shift)


def _taps(to_image: Affine) -> Affine:
    """The map from the TAPS-times finer grid: fine pixel J is chip ``(J + 0.5) / TAPS - 0.5``."""
    a, b, c, d, e, f = to_image
    k, off = 1 / TAPS, 0.5 / TAPS - 0.5
    return (a * k, b * k, c + (a + b) * off, d * k, e * k, f + (d + e) * off)


def footprint(shape: tuple[int, ...], to_image: Affine, factor: int) -> Region:
    """The part of a frame of ``shape`` the chip reads (plus a margin the reduce may trim)."""
    a, b, c, d, e, f = to_image
    corners = [(0, 0), (CHIP_SIZE, 0), (0, CHIP_SIZE), (CHIP_SIZE, CHIP_SIZE)]
    xs = [a * x + b * y + c for x, y in corners]
    ys = [d * x + e * y + f for x, y in corners]
    height, width = shape[:2]
    x0 = min(max(math.floor(min(xs)) - 2, 0), width - 1)
    y0 = min(max(math.floor(min(ys)) - 2, 0), height - 1)
    x1 = min(max(math.ceil(max(xs)) + 2 + factor, x0 + 1), width)
    y1 = min(max(math.ceil(max(ys)) + 2 + factor, y0 + 1), height)
    return x0, y0, x1, y1


def _cut(frame: NDArray[np.uint8], region: Region) -> Image.Image:
    """The region of an RGB or RGBX frame copied out in one pass, as a picture.

    An RGBX frame's rows are copied as they are (4-byte pixels: Pillow's own layout) and
    mapped, so the warp reads them warm; an RGB frame's are unpacked by Pillow straight from
    the frame's buffer (:func:`firmware.face.picture.part`).
    """
    x0, y0, x1, y1 = region
    if picture.is_mapped(frame):
        return picture.mapped(np.ascontiguousarray(frame[y0:y1, x0:x1]))
    return picture.part(frame, region)


def _pillow_coefficients(to_image: Affine) -> Affine:
    """Pillow samples at pixel centres (x + 0.5); shift so integer chip pixels map as given."""
    a, b, c, d, e, f = to_image
    return (a, b, c + 0.5 - 0.5 * (a + b), d, e, f + 0.5 - 0.5 * (d + e))
