"""The fast paths of issue 13: a letterbox that reads a few points per model pixel straight into
the model's input, scores only the anchors that can pass, a chip shrunk once by a power of two,
each model's bare invoke, and the XNNPACK path report."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from firmware.face import align, detector
from firmware.face.backends.runner import TfliteRunner
from firmware.tools import xnnpack_report


def _full_resize(frame: np.ndarray, size: int) -> np.ndarray:
    """The letterbox content as an area-averaging resize of the whole frame makes it, on the
    letterbox's own scale (the slow reference)."""
    height, width = frame.shape[:2]
    scale = size / max(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    box = (0.0, 0.0, new[0] / scale, new[1] / scale)
    return np.asarray(Image.fromarray(frame).resize(new, Image.Resampling.BOX, box=box))


def test_a_large_frame_is_read_at_a_few_points_per_model_pixel(photo) -> None:
    frame = photo("obama")  # 1137 rows of 910
    plan = detector.sampler(*frame.shape[:2], 128)
    assert plan.taps.shape == (detector.TAPS**2, 128, 102)  # not the whole frame
    assert 0 <= plan.taps.min() and plan.taps.max() < frame.shape[0] * frame.shape[1]
    tensor, placed = detector.letterbox(frame, 128)
    ours = np.round((tensor[0] + 1) * 127.5).astype(np.int16)
    reference = _full_resize(frame, 128).astype(np.int16)
    inner = ours[plan.rows, plan.cols]
    assert inner.shape == reference.shape
    # 2.0 measured (the grid-and-bilinear letterbox it replaced: 4.7, its scale off by a row)
    assert float(np.abs(inner - reference).mean()) < 2.5  # grey levels, of 255
    assert (tensor[0, :, : plan.cols.start] == -1.0).all()  # black bands left and right
    assert (tensor[0, :, plan.cols.stop :] == -1.0).all()


@pytest.mark.parametrize("shape", [(100, 120), (1137, 910), (864, 1536)])
def test_the_letterbox_keeps_flat_grey_flat_and_pads_black(shape) -> None:
    frame = np.full((*shape, 3), 200, np.uint8)
    tensor, placed = detector.letterbox(frame, 128)
    plan = detector.sampler(*shape, 128)
    content = tensor[0, plan.rows, plan.cols]
    np.testing.assert_allclose(content, 200 / 127.5 - 1, atol=1e-6)
    assert (tensor == -1.0).sum() == 3 * (128 * 128 - content.shape[0] * content.shape[1])
    assert placed == plan.placed


def test_detect_fills_the_interpreters_own_input_as_the_tensor_path_would(engine, photo) -> None:
    find = engine.pipeline.detector
    frame = photo("obama2")
    via_tensor = find.runner.run(find.model_input(frame))
    in_place = find.runner.run_filled(lambda buffer: detector.letterbox_into(frame, buffer))
    for a, b in zip(via_tensor, in_place, strict=True):
        np.testing.assert_array_equal(a, b)


@given(logits=st.lists(st.floats(-120, 120, width=32), min_size=1, max_size=40),
       min_score=st.floats(-0.5, 1.5), clip=st.floats(0.5, 100))
def test_only_anchors_above_the_logit_floor_are_scored_and_none_is_lost(logits, min_score, clip):
    scores = np.asarray(logits, np.float32).reshape(1, -1, 1)
    centres = np.zeros((len(logits), 2), np.float32)
    regressors = np.zeros((1, len(logits), 16), np.float32)
    _, kept = detector.decode(regressors, scores, centres, 128, min_score, clip)
    probs = 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -clip, clip)))
    np.testing.assert_array_equal(kept, probs[probs >= min_score].astype(np.float32))


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


def test_a_quantised_input_is_filled_as_floats_and_quantised_in(embedder_runner) -> None:
    chip = np.random.default_rng(5).uniform(-0.4, 0.5, (1, 150, 150, 3)).astype(np.float32)

    def fill(buffer: np.ndarray) -> None:
        buffer[...] = chip[0]

    np.testing.assert_array_equal(embedder_runner.run_filled(fill)[0], embedder_runner.run(chip)[0])
