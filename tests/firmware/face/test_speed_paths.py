"""The fast paths of issue 13: a letterbox that reads only a grid of the frame, a chip shrunk
once by a power of two, each model's bare invoke, and the XNNPACK path report."""

import numpy as np
import pytest
from PIL import Image

from firmware.face import align, detector
from firmware.face.backends.runner import TfliteRunner
from firmware.tools import xnnpack_report


def _full_resize(frame: np.ndarray, size: int) -> np.ndarray:
    """The letterbox content as a whole-frame Pillow resize makes it (the slow reference)."""
    height, width = frame.shape[:2]
    scale = size / max(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(frame).resize(new, Image.Resampling.BILINEAR))


def test_a_large_frame_is_read_on_a_grid_of_a_few_points_per_model_pixel(photo) -> None:
    frame = photo("obama3")  # 2333 x 1434
    scale = 128 / max(frame.shape[:2])
    grid, box = detector.sample_grid(frame, scale)
    assert grid.shape[0] <= detector.OVERSAMPLE * 128 * 1.2  # not the whole frame
    assert box[2] <= grid.shape[1] and box[3] <= grid.shape[0]
    tensor, placed = detector.letterbox(frame, 128)
    ours = np.round((tensor[0] + 1) * 127.5).astype(np.int16)
    x0 = int(placed.pad_x)
    reference = _full_resize(frame, 128).astype(np.int16)
    inner = ours[:, x0 : x0 + reference.shape[1]]
    assert float(np.abs(inner - reference).mean()) < 3.0  # grey levels, of 255


def test_a_small_frame_is_resized_whole() -> None:
    frame = np.random.default_rng(1).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    grid, box = detector.sample_grid(frame, 128 / 120)
    assert grid is frame and box == (0.0, 0.0, 120.0, 100.0)


def test_the_chip_pyramid_levels_follow_dlibs_rule() -> None:
    def matrix(scale: float) -> np.ndarray:
        return np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])

    assert align.pyramid_levels(matrix(1.9), (500, 500)) == 0
    assert align.pyramid_levels(matrix(2.0), (500, 500)) == 1
    assert align.pyramid_levels(matrix(4.5), (500, 500)) == 2
    assert align.pyramid_levels(matrix(4.5), (12, 12)) == 1  # too small to halve twice


@pytest.mark.parametrize("size", [2.5, 4.5])  # one level, two levels
def test_a_shrunk_chip_lands_where_the_full_resolution_warp_puts_it(size) -> None:
    # On a smooth ramp, the chip warped from the reduced level and the one warped from the full
    # frame agree only if the level matrix maps onto where the reduced pixels sit.
    ys, xs = np.mgrid[0:800, 0:800].astype(np.float32)
    ramp = np.stack([xs * 0.3, ys * 0.3, (xs + ys) * 0.15], axis=-1)
    frame = np.round(ramp).astype(np.uint8)
    points = align.TEMPLATE * size + 50
    shrunk = align.chip(frame, points).astype(np.float32)
    full = Image.fromarray(frame).transform(
        (150, 150), Image.Transform.AFFINE,
        align._pillow_coefficients(align.fit(points).inverse()), Image.Resampling.BILINEAR)
    assert float(np.abs(shrunk - np.asarray(full, np.float32)).mean()) < 0.5


def test_bare_invoke_runs_the_model_alone_on_the_stage_input(engine, photo) -> None:
    find = engine.pipeline.detector
    runner = find.runner
    assert isinstance(runner, TfliteRunner)
    tensor = find.model_input(photo("obama"))
    invoke = runner.bare_invoke(tensor)
    invoke()
    scores = runner.run(tensor)[1]
    assert float(scores.max()) > 0  # the face is there; the bare call ran the same model


@pytest.fixture(scope="module")
def embedder_runner(engine) -> TfliteRunner:
    from firmware.face import manifest
    from tests.firmware.face.conftest import MODELS

    spec = manifest.load(MODELS).model(manifest.EMBEDDER)
    return TfliteRunner(spec, num_threads=1)


def test_the_int8_embedder_runs_xnnpack_qs8_with_avg_pools_left_to_tflite(embedder_runner) -> None:
    found = xnnpack_report.report(embedder_runner)
    assert found["input_dtype"] == "int8"
    assert found["xnnpack_path"].startswith("QS8")
    assert found["delegated_ops"]["CONV_2D"] > 20
    assert set(found["builtin_ops"]) <= {"AVERAGE_POOL_2D"}
    assert found["xnnpack_partitions"] == sum(found["builtin_ops"].values()) + 1
