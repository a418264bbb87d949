"""Replay camera: bursts from a folder, looping, and clear errors."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from firmware.camera import registry
from firmware.camera.backends import replay
from firmware.config import resolve
from firmware.core.settings import SettingsError
from firmware.errors import CameraError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three small images whose red channel says their index."""
    for index in range(3):
        pixels = np.zeros((8, 12, 3), np.uint8)
        pixels[..., 0] = index * 10
        Image.fromarray(pixels).save(tmp_path / f"frame{index}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    return tmp_path


def test_bursts_come_in_name_order_as_rgbx_and_loop(folder: Path) -> None:
    camera = replay.create(replay.Config(folder=folder))
    camera.start()
    first = camera.capture_burst(2)
    second = camera.capture_burst(2)
    assert [f.shape for f in first] == [(8, 12, 4)] * 2 and first[0].dtype == np.uint8
    assert all(f.flags.c_contiguous for f in first + second)  # read in place downstream
    assert [int(f[0, 0, 0]) for f in first + second] == [0, 10, 20, 0]


def test_without_loop_the_end_is_a_camera_error(folder: Path) -> None:
    camera = replay.create(replay.Config(folder=folder, loop=False))
    camera.start()
    camera.capture_burst(3)
    with pytest.raises(CameraError, match="served every image"):
        camera.capture_burst(1)


def test_missing_or_empty_folder_and_unstarted_camera(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="does not exist"):
        replay.create(replay.Config(folder=tmp_path / "nope")).start()
    with pytest.raises(CameraError, match="no images"):
        replay.create(replay.Config(folder=tmp_path)).start()
    with pytest.raises(CameraError, match="not started"):
        replay.create(replay.Config(folder=tmp_path)).capture_burst(1)


def test_registry_resolves_replay_and_explains_missing_picamera2(folder: Path) -> None:
    section = resolve(registry.BACKENDS, {"type": "replay", "folder": str(folder)}, "camera",
                      default="picamera2")
    assert section.config.folder == folder
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(SettingsError, match="python3-picamera2"):
            resolve(registry.BACKENDS, {}, "camera", default="picamera2")


def test_load_rgb_and_load_rgbx_give_the_same_colours(folder: Path) -> None:
    rgb = replay.load_rgb(folder / "frame2.png")
    rgbx = replay.load_rgbx(folder / "frame2.png")
    assert rgb.shape == (8, 12, 3) and rgbx.shape == (8, 12, 4)
    assert np.array_equal(rgbx[..., :3], rgb)
