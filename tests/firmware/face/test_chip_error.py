"""The chip's error may not grow (issue 13): pixel error against a finely supersampled warp of the
full frame on every sample photo, and placement error on a smooth ramp, both held to what the
2x2-point chip measured when these bounds were set."""

import numpy as np
import pytest
from PIL import Image

from firmware.face import align

#: Mean |ours - reference| in grey levels (of 255) per sample photo, as measured for the chip of
#: commit 42049a4 (2x2 nearest points per chip pixel, then a box average); SLACK on top.
PIXEL_ERROR = {"biden": 1.17, "obama": 1.74, "obama2": 1.13, "obama3": 1.28,
               "obama_partial_face": 1.51, "obama_partial_face2": 1.29}
#: The same on the ramp (where a misplaced chip shows as a grey-level offset), per chip scale.
RAMP_ERROR = {1.3: 0.054, 2.5: 0.080, 4.5: 0.216, 9.0: 0.369}
SLACK = 0.02


def supersampled_chip(frame: np.ndarray, keypoints: np.ndarray, taps: int = 8) -> np.ndarray:
    """The reference: each chip pixel the mean of taps x taps nearest points spread over its
    footprint in the full frame (a box filter as fine as makes no difference), as floats."""
    a, b, c, d, e, f = align.invert(align.fit_affine(keypoints))
    k, off = 1 / taps, 0.5 / taps - 0.5
    fine = (a * k, b * k, c + (a + b) * off, d * k, e * k, f + (d + e) * off)
    size = align.CHIP_SIZE * taps
    sampled = Image.fromarray(np.ascontiguousarray(frame[..., :3])).transform(
        (size, size), Image.Transform.AFFINE, align._pillow_coefficients(fine),
        Image.Resampling.NEAREST)
    grid = np.asarray(sampled, np.float64).reshape(align.CHIP_SIZE, taps, align.CHIP_SIZE, taps, 3)
    return grid.mean(axis=(1, 3))


@pytest.mark.parametrize("stem", sorted(PIXEL_ERROR))
def test_the_chip_stays_as_close_to_a_supersampled_warp_as_it_was(engine, photo, stem) -> None:
    frame = photo(stem)
    keypoints = engine.pipeline.detector.detect(frame)[0].keypoints
    ours = align.chip(frame, keypoints).astype(np.float64)
    error = float(np.abs(ours - supersampled_chip(frame, keypoints)).mean())
    assert error <= PIXEL_ERROR[stem] + SLACK


@pytest.mark.parametrize("size", sorted(RAMP_ERROR))
def test_the_chip_lands_on_a_ramp_where_it_did(size) -> None:
    ys, xs = np.mgrid[0:1500, 0:1500].astype(np.float32)
    frame = np.round(np.stack([xs * 0.15, ys * 0.15, (xs + ys) * 0.07], axis=-1)).astype(np.uint8)
    points = align.TEMPLATE * size + 30
    ours = align.chip(frame, points).astype(np.float64)
    error = float(np.abs(ours - supersampled_chip(frame, points)).mean())
    assert error <= RAMP_ERROR[size] + SLACK


def test_the_fit_worked_out_once_for_the_default_template_is_the_general_one() -> None:
    rng = np.random.default_rng(4)
    points = align.TEMPLATE * 2.2 + rng.normal(0, 3, (6, 2)) + 300
    general = align.fit_affine(points, align.TEMPLATE.copy(), align.WEIGHTS.copy())
    assert align.fit_affine(points) == general  # the same floats, not approximately
    with pytest.raises(ValueError, match="5 points for a template of 6"):
        align.fit_affine(points[:5])
