"""Frames as the camera gives them (issue 13): an RGBX frame is letterboxed and aligned in place,
to the very model input and chip its RGB twin gives, without copying the frame."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.core.verdict import Guidance
from firmware.face import align, detector, picture

STEMS = ("biden", "obama", "obama2", "obama3", "obama_partial_face", "obama_partial_face2")


def _camera_frame(shape: tuple[int, int] = (864, 1536), seed: int = 3) -> np.ndarray:
    """An RGBX frame whose fourth byte is not 255 (the camera leaves it undefined)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (*shape, 4), dtype=np.uint8)


def _pose(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """BlazeFace-like keypoints of a face at a random size, roll and place (edges included)."""
    scale, angle = rng.uniform(0.3, 6.0), rng.uniform(-0.6, 0.6)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = (rng.uniform(-50, shape[1] + 50), rng.uniform(-50, shape[0] + 50))
    return (align.TEMPLATE - 75) @ turn.T * scale + centre


@pytest.mark.parametrize("stem", STEMS)
def test_an_rgbx_photo_gives_the_rgb_photos_model_input_and_chip_bit_for_bit(
        engine, photo, stem) -> None:
    rgb = photo(stem)
    rgbx = _camera_frame(rgb.shape[:2])
    rgbx[..., :3] = rgb
    assert np.array_equal(detector.letterbox(rgb, 128)[0], detector.letterbox(rgbx, 128)[0])
    faces = engine.pipeline.detector.detect(rgbx)
    assert [f.box for f in faces] == [f.box for f in engine.pipeline.detector.detect(rgb)]
    chip = align.chip(rgbx, faces[0].keypoints)
    assert chip.shape == (align.CHIP_SIZE, align.CHIP_SIZE, 3) and chip.flags.c_contiguous
    assert np.array_equal(chip, align.chip(rgb, faces[0].keypoints))


def test_chips_of_every_size_roll_and_place_are_the_same_from_rgbx_and_rgb() -> None:
    rgbx = _camera_frame((600, 900))
    rgb = np.ascontiguousarray(rgbx[..., :3])
    rng = np.random.default_rng(11)
    factors = set()
    for _ in range(120):
        points = _pose(rng, rgb.shape)
        factors.add(align.shrink_factor(align.invert(align.fit_affine(points))))
        assert np.array_equal(align.chip(rgbx, points), align.chip(rgb, points))
    assert {1, 2} <= factors  # both the unshrunk warp (read in place) and the reduce ran


@settings(max_examples=40, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), seed=st.integers(0, 99))
def test_the_letterbox_of_any_rgbx_shape_is_its_rgb_twins(height, width, seed) -> None:
    rgbx = _camera_frame((height, width), seed)
    rgb = np.ascontiguousarray(rgbx[..., :3])
    assert np.array_equal(detector.letterbox(rgbx, 128)[0], detector.letterbox(rgb, 128)[0])


def test_a_strided_rgbx_frame_is_read_through_the_rgb_path() -> None:
    wide = _camera_frame((400, 1200))
    part = wide[:, 100:900]  # not C-contiguous: it cannot be mapped
    assert not picture.is_mapped(part)
    points = align.TEMPLATE * 1.5 + 200
    whole = np.ascontiguousarray(part)
    assert np.array_equal(align.chip(part, points), align.chip(whole, points))
    assert np.array_equal(detector.letterbox(part, 128)[0], detector.letterbox(whole, 128)[0])


def _peak_bytes(work) -> int:  # noqa: ANN001 - a callable
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_camera_frame_is_never_copied_whole_to_letterbox_or_align_it() -> None:
    frame = _camera_frame()  # 5.3 MB; its RGB copy would be 4 MB
    out = np.empty((128, 128, 3), np.float32)
    points = align.TEMPLATE * 1.8 + (600, 200)  # unshrunk: only its 0.3 MB footprint is copied
    detector.letterbox_into(frame, out)  # the sampler's indices are made once per shape
    assert _peak_bytes(lambda: detector.letterbox_into(frame, out)) < 1_000_000
    assert _peak_bytes(lambda: align.chip(frame, points)) < 500_000
    assert _peak_bytes(lambda: align.chip(frame, points * 3)) < 500_000  # through the reduce


@pytest.mark.parametrize("stem", ["obama", "obama_partial_face"])
def test_the_pipeline_judges_an_rgbx_frame_as_its_rgb_twin(engine, photo, stem) -> None:
    rgb = photo(stem)
    rgbx = _camera_frame(rgb.shape[:2])
    rgbx[..., :3] = rgb
    ours, twin = engine.pipeline.check(rgbx), engine.pipeline.check(rgb)
    assert (ours.guidance, ours.quality) == (twin.guidance, twin.quality)
    assert ours.face is not None and twin.face is not None and ours.face.box == twin.face.box


def test_a_dark_rgbx_frame_is_too_dark_whatever_its_fourth_byte(engine) -> None:
    frame = np.full((240, 320, 4), 255, np.uint8)
    frame[..., :3] = 5  # black colours; the unused byte (255 here) must not lift the grey level
    assert engine.pipeline.check(frame).guidance is Guidance.TOO_DARK
