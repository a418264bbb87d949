"""The quality figures taken without numpy's Python wrappers give numpy's own floats, and the
pipeline times them as their own stage, apart from the chip (issue 13: align is the chip)."""

import numpy as np
import pytest

from firmware.face import quality


def _plain_figures(grey: np.ndarray) -> tuple[float, float]:
    """Brightness and sharpness the plain way: ``mean()`` and the Laplacian's ``var()``."""
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(grey.mean()), float(lap.var())


def _plain_yaw(keypoints: np.ndarray) -> float:
    left, right, nose = (np.asarray(keypoints[i], dtype=np.float64) for i in range(3))
    axis = right - left
    return float(np.dot(nose - (left + right) / 2, axis) / float(np.hypot(*axis)) ** 2)


@pytest.mark.parametrize("spread", [0.5, 8.0, 40.0, 120.0])
def test_brightness_and_sharpness_are_numpys_own_floats(spread) -> None:
    rng = np.random.default_rng(int(spread * 10))
    for _ in range(50):
        chip = np.clip(rng.normal(128, spread, (150, 150, 3)), 0, 255).astype(np.uint8)
        grey = chip[20:-20, 20:-20].astype(np.float32) @ quality._LUMA
        before = grey.copy()
        brightness, sharpness = _plain_figures(grey)
        assert quality._mean(grey) == brightness  # bit for bit, not approximately
        assert quality.laplacian_variance(grey) == sharpness
        np.testing.assert_array_equal(grey, before)  # the grey face is not written to


def test_yaw_in_plain_floats_is_the_numpy_formula() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        points = rng.uniform(0, 800, (6, 2)).astype(np.float32)
        # np.dot may fuse a multiply-add: a few units in the last place apart at most
        assert quality.yaw(points) == pytest.approx(_plain_yaw(points), rel=1e-12, abs=1e-15)


def test_the_pipeline_times_the_chip_and_the_quality_figures_apart(engine, photo) -> None:
    result = engine.pipeline.check(photo("obama"))
    assert result.quality is not None
    assert {"detect", "align", "quality"} <= set(result.timings)
    assert all(seconds > 0 for seconds in result.timings.values())
