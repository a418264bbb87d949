"""Face chips like dlib's get_face_chip (150 px, padding 0.25), from BlazeFace keypoints, no dlib.

dlib aligns its 5 landmarks (eye corners, nose base) to a mean face; BlazeFace gives other
points (eye centres, nose tip, mouth, ears). TEMPLATE holds where BlazeFace's points land in
dlib's own chips: measured with tests/firmware/face/calibrate_alignment.py over the sample
photos, their mirror images and +-12 degree rotations (30 faces), then made left-right
symmetric. A weighted least-squares similarity transform maps the keypoints onto it.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

CHIP_SIZE = 150

#: BlazeFace keypoints (eye left, eye right, nose tip, mouth, ear left, ear right) in chip px.
TEMPLATE = np.array(
    [[45.4, 48.7], [103.6, 48.7], [74.5, 83.1], [74.5, 112.4], [10.6, 60.7], [138.4, 60.7]],
    dtype=np.float64,
)
#: Fit weights: the eyes are the steadiest points; the nose tip moves with yaw, ears hide.
WEIGHTS = np.array([1.0, 1.0, 0.3, 0.5, 0.0, 0.0], dtype=np.float64)


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
        full = np.vstack([self.matrix, [0.0, 0.0, 1.0]])
        return np.linalg.inv(full)[:2]


def fit(points: NDArray[np.floating], template: NDArray[np.float64] = TEMPLATE,
        weights: NDArray[np.float64] = WEIGHTS) -> Similarity:
    """Weighted least-squares similarity (Umeyama) taking ``points`` onto ``template``."""
    src, dst = np.asarray(points, dtype=np.float64), template
    w = weights / weights.sum()
    mu_s, mu_d = w @ src, w @ dst
    s, d = src - mu_s, dst - mu_d
    cov = (d * w[:, None]).T @ s
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    var = float((w * (s**2).sum(1)).sum())
    scale = float(np.trace(np.diag(sig) @ sign)) / var
    shift = mu_d - scale * rot @ mu_s
    return Similarity(np.hstack([scale * rot, shift[:, None]]))


def chip(frame: NDArray[np.uint8], keypoints: NDArray[np.floating]) -> NDArray[np.uint8]:
    """The aligned 150x150 RGB chip for one face's BlazeFace keypoints.

    Only the chip's footprint is touched: it is cut out, shrunk by a power of two in one
    Pillow reduce while a chip pixel covers two or more image pixels (dlib's pyramid), and only
    the 150x150 output pixels are sampled from that, by one bilinear affine warp.
    """
    to_image = fit(keypoints).inverse()
    region, to_image = _crop(frame, to_image)
    picture, to_image = _shrink(Image.fromarray(region), to_image)
    return np.asarray(
        picture.transform(
            (CHIP_SIZE, CHIP_SIZE),
            Image.Transform.AFFINE,
            _pillow_coefficients(to_image),
            Image.Resampling.BILINEAR,
        )
    )


def pyramid_levels(to_image: NDArray[np.float64], size: tuple[int, int]) -> int:
    """How many halvings dlib's pyramid makes: while a chip pixel spans two image pixels."""
    scale = float(np.hypot(to_image[0, 0], to_image[1, 0]))
    levels = 0
    while scale >= 2.0 and min(size) >= 10:
        scale, size, levels = scale / 2, (size[0] // 2, size[1] // 2), levels + 1
    return levels


def _shrink(
    picture: Image.Image, to_image: NDArray[np.float64]
) -> tuple[Image.Image, NDArray[np.float64]]:
    """The region shrunk by ``f = 2**levels`` (box average, Pillow's reduce), and the matrix.

    One C reduce by the whole factor replaces dlib's binomial halvings in numpy (4-10x faster;
    dlib's network on the chips moves by under 0.01, see tests/firmware/face); level pixel i
    is centred on image pixel ``f*i + (f-1)/2``.
    """
    levels = pyramid_levels(to_image, picture.size)
    if not levels:
        return picture, to_image
    factor = 1 << levels
    width, height = picture.size[0] // factor, picture.size[1] // factor
    shrunk = picture.reduce(factor, (0, 0, width * factor, height * factor))
    moved = to_image / factor
    moved[:, 2] -= (factor - 1) / (2 * factor)
    return shrunk, moved


def _crop(
    frame: NDArray[np.uint8], to_image: NDArray[np.float64]
) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """Cut the chip's footprint (plus a margin for the filters) so later steps stay small."""
    corners = np.array([[0, 0, 1], [CHIP_SIZE, 0, 1], [0, CHIP_SIZE, 1], [CHIP_SIZE, CHIP_SIZE, 1]])
    spots = corners @ to_image.T
    height, width = frame.shape[:2]
    x0 = int(np.clip(np.floor(spots[:, 0].min()) - 4, 0, width))
    y0 = int(np.clip(np.floor(spots[:, 1].min()) - 4, 0, height))
    x1 = int(np.clip(np.ceil(spots[:, 0].max()) + 5, x0 + 1, width))
    y1 = int(np.clip(np.ceil(spots[:, 1].max()) + 5, y0 + 1, height))
    moved = to_image.copy()
    moved[:, 2] -= (x0, y0)
    return np.ascontiguousarray(frame[y0:y1, x0:x1]), moved


def _pillow_coefficients(to_image: NDArray[np.float64]) -> tuple[float, ...]:
    """Pillow samples at pixel centres (x + 0.5); shift so integer chip pixels map as given."""
    a = to_image.copy()
    a[:, 2] += 0.5 - 0.5 * (a[:, 0] + a[:, 1])
    return tuple(float(v) for v in a.flatten())
