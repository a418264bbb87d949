"""Raspberry Pi camera (Camera Module 3) via picamera2, owned by one thread with a job queue."""

import logging
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware.camera.base import Burst, Camera, Frame
from firmware.core.settings import setting
from firmware.errors import CameraError

logger = logging.getLogger(__name__)

_HINT = "check the ribbon cable, `rpicam-hello --list-cameras`, and camera_auto_detect=1"


@dataclass(frozen=True)
class Config:
    """Settings of the ``picamera2`` camera backend."""

    camera_num: int = setting(0, "libcamera camera index")
    width: int = setting(1536, "frame width in pixels (Camera Module 3 binned mode is 2304x1296)")
    height: int = setting(864, "frame height in pixels")
    autofocus: bool = setting(True, "continuous autofocus (Camera Module 3 has a focus motor)")
    warmup_frames: int = setting(3, "frames dropped before a burst so exposure can settle")


_Job = tuple[int, "Future[Burst]"]

#: The main stream's pixel format: bytes R, G, B, X per pixel (see :mod:`firmware.camera.base`).
FORMAT = "XBGR8888"


class Picamera2Camera(Camera):
    """Only the owner thread touches the camera; ``capture_burst`` queues a job and waits."""

    #: How long ``start`` waits for libcamera to open the camera.
    open_timeout_s: float = 30.0

    def __init__(self, config: Config) -> None:
        self.config = config
        self.describe = f"picamera2 camera {config.camera_num} {config.width}x{config.height}"
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready: Future[None] = Future()

    def _start(self) -> None:
        self._ready = Future()
        # Each owner thread gets its own queue, so an abandoned owner never takes a job or the
        # stop sentinel meant for its successor.
        self._jobs = queue.Queue()
        self._thread = threading.Thread(target=self._own, args=(self._jobs, self._ready),
                                        name="camera", daemon=True)
        self._thread.start()
        try:
            self._ready.result(timeout=self.open_timeout_s)  # re-raises the owner's CameraError
        except FutureTimeout as err:
            # Tell the owner to close the camera if it opens after all, so no orphan holds it.
            self._jobs.put(None)
            self._thread = None
            raise CameraError(f"{self.describe} did not open within {self.open_timeout_s:.0f} s",
                              _HINT) from err

    def _stop(self) -> None:
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def capture_timed(self, count: int, timeout: float = 5.0) -> Burst:
        """Queue a burst for the owner thread and wait up to ``timeout`` seconds for it."""
        if not self.running:
            raise CameraError("camera is not started", "call start() first")
        job: Future[Burst] = Future()
        self._jobs.put((count, job))
        try:
            return job.result(timeout=timeout)
        except FutureTimeout as err:
            raise CameraError(f"no frames within {timeout:.1f} s from {self.describe}",
                              _HINT) from err

    def _own(self, jobs: "queue.Queue[_Job | None]", ready: "Future[None]") -> None:
        try:
            camera = self._open()
        except CameraError as err:
            ready.set_exception(err)
            return
        ready.set_result(None)
        try:
            while (job := jobs.get()) is not None:
                count, future = job
                if future.set_running_or_notify_cancel():
                    self._serve(camera, count, future)
        finally:
            camera.close()

    def _open(self) -> Any:
        from picamera2 import Picamera2  # vendor import stays inside this backend

        cfg = self.config
        try:
            camera = Picamera2(cfg.camera_num)
            # picamera2 names formats by the libcamera (little-endian) order: "XBGR8888"
            # arrays come out as [R, G, B, 255] per pixel, the ISP's native 4-byte layout,
            # which every stage of the face pipeline reads in place (RGBX).
            config = camera.create_still_configuration(
                main={"size": (cfg.width, cfg.height), "format": FORMAT}, buffer_count=2
            )
            camera.configure(config)
            if cfg.autofocus:
                camera.set_controls({"AfMode": 2})  # 2 = continuous
            camera.start()
        except (RuntimeError, IndexError, OSError) as err:
            raise CameraError(f"cannot open camera {cfg.camera_num}: {err}", _HINT) from err
        logger.info("camera open: %s", self.describe)
        return camera

    def _serve(self, camera: Any, count: int, future: "Future[Burst]") -> None:
        try:
            for _ in range(self.config.warmup_frames):
                camera.capture_array("main")
            timed = [_timed_frame(camera) for _ in range(count)]
        except (RuntimeError, OSError) as err:
            logger.warning("camera capture failed: %s", err)
            future.set_exception(CameraError(f"capture failed on {self.describe}: {err}", _HINT))
            return
        future.set_result(Burst(tuple(f for f, _ in timed), tuple(t for _, t in timed)))


def _timed_frame(camera: Any) -> tuple[Frame, float]:
    """One RGBX frame and its capture time: libcamera's SensorTimestamp (start of exposure, on
    the same clock as ``time.monotonic``), or the time the frame arrived when it is missing.

    Raises OSError for a frame that is not RGBX uint8 (a camera configured otherwise)."""
    request = camera.capture_request()
    try:
        frame = np.ascontiguousarray(request.make_array("main"))
        stamp = request.get_metadata().get("SensorTimestamp")
    finally:
        request.release()
    if frame.ndim != 3 or frame.shape[2] != 4 or frame.dtype != np.uint8:
        # An OSError, so the owner turns it into the burst's CameraError.
        raise OSError(f"the camera gave a {frame.dtype} frame of shape {frame.shape}, not "
                      f"{FORMAT} (height, width, 4)")
    captured = stamp / 1e9 if isinstance(stamp, int) and stamp > 0 else time.monotonic()
    return frame, captured


def create(config: Config) -> Picamera2Camera:
    """Build the camera (it opens at ``start``)."""
    return Picamera2Camera(config)
