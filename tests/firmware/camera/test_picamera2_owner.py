"""The picamera2 backend's owner thread, with the vendor call replaced by a scripted camera."""

import threading
import time
from typing import Any

import numpy as np
import pytest

from firmware.camera.backends.picamera2 import Config, Picamera2Camera
from firmware.errors import CameraError


class ScriptedRequest:
    """Stands in for a libcamera completed request: one frame and its metadata."""

    def __init__(self, stamp_ns: int | None) -> None:
        self.stamp_ns = stamp_ns
        self.released = False

    def make_array(self, name: str) -> Any:
        return np.zeros((2, 2, 3), dtype=np.uint8)

    def get_metadata(self) -> dict[str, Any]:
        return {} if self.stamp_ns is None else {"SensorTimestamp": self.stamp_ns}

    def release(self) -> None:
        self.released = True


class ScriptedCamera:
    """Stands in for a ``Picamera2`` object: gives frames, remembers being closed."""

    def __init__(self, stamps_ns: tuple[int | None, ...] = ()) -> None:
        self.closed = threading.Event()
        self.stamps_ns = list(stamps_ns)
        self.requests: list[ScriptedRequest] = []

    def capture_array(self, name: str) -> Any:
        return np.zeros((2, 2, 3), dtype=np.uint8)

    def capture_request(self) -> ScriptedRequest:
        stamp = self.stamps_ns.pop(0) if self.stamps_ns else None
        self.requests.append(ScriptedRequest(stamp))
        return self.requests[-1]

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



class Stamped(Picamera2Camera):
    """A camera whose requests carry the given sensor timestamps (ns)."""

    def __init__(self, stamps_ns: tuple[int | None, ...]) -> None:
        super().__init__(Config(warmup_frames=0))
        self.vendor = ScriptedCamera(stamps_ns)

    def _open(self) -> Any:
        return self.vendor


def test_frames_carry_the_sensor_timestamp_in_monotonic_seconds() -> None:
    camera = Stamped((5_000_000_000, 5_033_000_000, 5_066_000_000))
    camera.start()
    burst = camera.capture_timed(3, timeout=5.0)
    camera.stop()
    assert burst.captured == (5.0, 5.033, 5.066)
    assert abs(burst.span_s - 0.066) < 1e-9
    assert all(request.released for request in camera.vendor.requests)


def test_a_frame_without_a_sensor_timestamp_is_stamped_on_arrival() -> None:
    camera = Stamped((None, None))
    camera.start()
    before = time.monotonic()
    burst = camera.capture_timed(2, timeout=5.0)
    camera.stop()
    assert before <= burst.captured[0] <= burst.captured[1] <= time.monotonic()
