"""The frame-to-picture mapping: RGBX frames are read in place, RGB ones are refused or copied."""

import numpy as np
import pytest

from firmware.face import picture


def _frame(channels: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (5, 7, channels), dtype=np.uint8)


def test_an_rgbx_frame_is_mapped_without_a_copy() -> None:
    frame = _frame(4)
    view = picture.mapped(frame)
    assert view.mode == "RGBX" and view.size == (7, 5)
    frame[2, 3, :3] = (1, 2, 3)  # a write to the array shows in the picture: shared memory
    assert view.getpixel((3, 2))[:3] == (1, 2, 3)


def test_the_mapped_picture_holds_the_frames_colours() -> None:
    frame = _frame(4)
    assert np.array_equal(np.asarray(picture.mapped(frame).convert("RGB")), frame[..., :3])


@pytest.mark.parametrize("frame", [_frame(3), _frame(4)[:, ::2], _frame(4).astype(np.uint16)])
def test_frames_pillow_cannot_read_in_place_are_refused(frame: np.ndarray) -> None:
    assert not picture.is_mapped(frame)
    with pytest.raises(ValueError, match="not C-contiguous RGBX"):
        picture.mapped(frame)


def test_rgbx_copies_an_rgb_frame_and_passes_an_rgbx_one_through() -> None:
    rgb = _frame(3)
    out = picture.rgbx(rgb)
    assert out.shape == (5, 7, 4) and np.array_equal(out[..., :3], rgb)
    assert (out[..., 3] == 255).all()
    assert picture.rgbx(out) is out
    assert np.shares_memory(picture.rgb(out), out)
    with pytest.raises(ValueError, match="neither RGB nor RGBX"):
        picture.rgbx(np.zeros((2, 2, 2), np.uint8))
