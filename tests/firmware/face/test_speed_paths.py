"""The fast paths of issue 13: a letterbox that reads a few points per model pixel straight into
the model's input, scores only the anchors that can pass, a chip read at a few points per pixel
from its (reduced) footprint, each model's bare invoke, and the XNNPACK path report."""

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
    kept = [score for _, score in detector.decode(regressors, scores, centres, 128, min_score,
                                                    clip)]
    probs = 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -clip, clip)))
    np.testing.assert_allclose(kept, probs[probs >= min_score], rtol=1e-12)


def test_the_chip_footprint_is_reduced_while_a_chip_pixel_spans_four_image_pixels() -> None:
    def scaled(scale: float) -> align.Affine:
        return (scale, 0.0, 0.0, 0.0, scale, 0.0)

    assert align.shrink_factor(scaled(1.2)) == 1
    assert align.shrink_factor(scaled(3.9)) == 1
    assert align.shrink_factor(scaled(4.0)) == 2
    assert align.shrink_factor(scaled(9.0)) == 4
    assert align.shrink_factor((0.0, -5.0, 0.0, 5.0, 0.0, 0.0)) == 2  # rotated a quarter turn


@pytest.mark.parametrize("size", [1.3, 2.5, 4.5, 9.0])  # below 2 px, 2-4 px, reduced by 2 and 4
def test_a_sampled_chip_lands_where_the_full_resolution_warp_puts_it(size) -> None:
    # On a smooth ramp, the chip read at points (from the reduced footprint) and dlib's kind of
    # bilinear warp of the full frame agree only if every step maps onto where its pixels sit.
    ys, xs = np.mgrid[0:1500, 0:1500].astype(np.float32)
    ramp = np.stack([xs * 0.15, ys * 0.15, (xs + ys) * 0.07], axis=-1)
    frame = np.round(ramp).astype(np.uint8)
    points = align.TEMPLATE * size + 30
    sampled = align.chip(frame, points).astype(np.float32)
    full = Image.fromarray(frame).transform(
        (150, 150), Image.Transform.AFFINE,
        align._pillow_coefficients(align.invert(align.fit_affine(points))),
        Image.Resampling.BILINEAR)
    assert float(np.abs(sampled - np.asarray(full, np.float32)).mean()) < 0.5


def _umeyama(points: np.ndarray, template: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The SVD form of the weighted similarity fit (the numpy code the closed form replaced)."""
    w = weights / weights.sum()
    mu_s, mu_d = w @ points, w @ template
    s, d = points - mu_s, template - mu_d
    u, sig, vt = np.linalg.svd((d * w[:, None]).T @ s)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(sig) @ sign)) / float((w * (s**2).sum(1)).sum())
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def test_the_closed_form_fit_is_umeyamas_on_noisy_and_mirrored_points() -> None:
    rng = np.random.default_rng(9)
    for trial in range(50):
        points = align.TEMPLATE * rng.uniform(0.3, 5) + rng.normal(0, 6, (6, 2)) + 400
        if trial % 5 == 0:
            points[:, 0] *= -1  # a mirror image: the fit must stay a rotation
        found = np.array(align.fit_affine(points)).reshape(2, 3)
        np.testing.assert_allclose(found, _umeyama(points, align.TEMPLATE, align.WEIGHTS),
                                   rtol=1e-9, atol=1e-9)
        m = align.fit(points)
        np.testing.assert_allclose(np.vstack([m.inverse(), [0, 0, 1]]),
                                   np.linalg.inv(np.vstack([m.matrix, [0, 0, 1]])), atol=1e-9)


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
