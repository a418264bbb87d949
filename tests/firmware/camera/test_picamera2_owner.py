"""The picamera2 backend's owner thread, with the vendor call replaced by a scripted camera."""

import threading
from typing import Any

import numpy as np
import pytest

from firmware.camera.backends.picamera2 import Config, Picamera2Camera
from firmware.errors import CameraError


class ScriptedCamera:
    """Stands in for a ``Picamera2`` object: gives frames, remembers being closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def capture_array(self, name: str) -> Any:
        return np.zeros((2, 2, 3), dtype=np.uint8)

    def close(self) -> None:
        self.closed.set()


class SlowToOpen(Picamera2Camera):
    """libcamera that takes longer than ``open_timeout_s`` to open the first camera only."""

    open_timeout_s = 0.05

    def __init__(self) -> None:
        super().__init__(Config(warmup_frames=0))
        self.release_first = threading.Event()
        self.opened: list[ScriptedCamera] = []

    def _open(self) -> Any:
        camera = ScriptedCamera()
        first = not self.opened
        self.opened.append(camera)
        if first:
            self.release_first.wait(5.0)
        return camera


def test_an_open_that_times_out_is_a_camera_error_and_leaves_no_owner() -> None:
    camera = SlowToOpen()
    with pytest.raises(CameraError, match="did not open"):
        camera.start()  # a DeviceError, so the check-in worker degrades instead of crashing
    assert not camera.running
    camera.open_timeout_s = 5.0
    camera.start()  # the retry gets its own owner thread
    frames = camera.capture_burst(2, timeout=5.0)
    assert len(frames) == 2
    camera.release_first.set()  # the abandoned owner opens late and must close at once
    assert camera.opened[0].closed.wait(5.0)
    assert not camera.opened[1].closed.is_set()
    assert len(camera.capture_burst(1, timeout=5.0)) == 1
    camera.stop()
    assert camera.opened[1].closed.wait(5.0)

