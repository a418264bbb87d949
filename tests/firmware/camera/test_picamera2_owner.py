"""The picamera2 backend's owner thread, with the vendor call replaced by a scripted camera."""

import sys
import threading
import time
import types
from typing import Any

import numpy as np
import pytest

from firmware.camera.backends.picamera2 import Config, Picamera2Camera
from firmware.errors import CameraError


def _xbgr8888() -> np.ndarray:
    """A frame as picamera2 gives an ``XBGR8888`` stream: [R, G, B, 255] per pixel."""
    frame = np.full((2, 3, 4), 255, dtype=np.uint8)
    frame[..., :3] = [[[10, 20, 30]]]
    return frame


class ScriptedRequest:
    """Stands in for a libcamera completed request: one frame and its metadata."""

    def __init__(self, stamp_ns: int | None, channels: int = 4) -> None:
        self.stamp_ns = stamp_ns
        self.channels = channels
        self.released = False

    def make_array(self, name: str) -> Any:
        return _xbgr8888()[..., : self.channels]

    def get_metadata(self) -> dict[str, Any]:
        return {} if self.stamp_ns is None else {"SensorTimestamp": self.stamp_ns}

    def release(self) -> None:
        self.released = True


class ScriptedCamera:
    """Stands in for a ``Picamera2`` object: gives frames, remembers being closed."""

    def __init__(self, stamps_ns: tuple[int | None, ...] = (), channels: int = 4) -> None:
        self.closed = threading.Event()
        self.stamps_ns = list(stamps_ns)
        self.channels = channels
        self.requests: list[ScriptedRequest] = []
        self.configured: dict[str, Any] = {}
        self.controls: dict[str, Any] = {}
        self.started = False

    def capture_array(self, name: str) -> Any:
        return _xbgr8888()[..., : self.channels]

    def capture_request(self) -> ScriptedRequest:
        stamp = self.stamps_ns.pop(0) if self.stamps_ns else None
        self.requests.append(ScriptedRequest(stamp, self.channels))
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


def test_frames_come_as_the_isps_rgbx_words_unchanged() -> None:
    camera = Stamped((1_000_000_000,))
    camera.start()
    (frame,) = camera.capture_burst(1, timeout=5.0)
    camera.stop()
    assert frame.shape == (2, 3, 4) and frame.flags.c_contiguous
    assert np.array_equal(frame, _xbgr8888())


def test_a_frame_that_is_not_rgbx_is_a_camera_error_that_names_the_format() -> None:
    camera = Stamped((None,))
    camera.vendor.channels = 3  # as a BGR888 stream would give
    camera.start()
    with pytest.raises(CameraError, match=r"shape \(2, 3, 3\), not XBGR8888"):
        camera.capture_burst(1, timeout=5.0)
    camera.stop()


class FakePicamera2(ScriptedCamera):
    """The vendor class as ``_open`` drives it: remembers the configuration it was given."""

    made: list["FakePicamera2"] = []

    def __init__(self, camera_num: int) -> None:
        super().__init__()
        self.camera_num = camera_num
        FakePicamera2.made.append(self)

    def create_still_configuration(self, main: dict[str, Any], buffer_count: int) -> Any:
        return {"main": main, "buffer_count": buffer_count}

    def configure(self, config: dict[str, Any]) -> None:
        self.configured = config

    def set_controls(self, controls: dict[str, Any]) -> None:
        self.controls.update(controls)

    def start(self) -> None:
        self.started = True


def test_the_camera_is_opened_for_xbgr8888_frames(monkeypatch) -> None:
    vendor = types.ModuleType("picamera2")
    vendor.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", vendor)
    FakePicamera2.made.clear()
    camera = Picamera2Camera(Config(camera_num=1, width=64, height=48, warmup_frames=1))
    camera.start()
    (frame,) = camera.capture_burst(1, timeout=5.0)
    camera.stop()
    (opened,) = FakePicamera2.made
    assert opened.camera_num == 1 and opened.started and opened.closed.is_set()
    assert opened.configured["main"] == {"size": (64, 48), "format": "XBGR8888"}
    assert opened.controls == {"AfMode": 2}
    assert frame.shape[2] == 4
