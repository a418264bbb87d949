"""Replay camera: serves the image files of a folder, in name order, as bursts of RGBX frames."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from firmware.camera.base import Burst, Camera, Frame
from firmware.core.settings import setting
from firmware.errors import CameraError

logger = logging.getLogger(__name__)

_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm")


@dataclass(frozen=True)
class Config:
    """Settings of the ``replay`` camera backend."""

    folder: Path = setting(Path("bench-images"), "folder of image files to serve")
    loop: bool = setting(True, "start again from the first image after the last")


def load_rgb(path: Path) -> Frame:
    """One image file as an RGB uint8 array; an unreadable file is a CameraError."""
    return _load(path, "RGB")


def load_rgbx(path: Path) -> Frame:
    """One image file as a C-contiguous RGBX uint8 array, as the unit's camera gives frames."""
    return _load(path, "RGBX")


def _load(path: Path, mode: str) -> Frame:
    try:
        with Image.open(path) as picture:
            return np.ascontiguousarray(picture.convert(mode))
    except (OSError, UnidentifiedImageError) as err:
        raise CameraError(f"cannot read image {path}: {err}", "check the file") from err


class ReplayCamera(Camera):
    """Each burst takes the next ``count`` files (a burst of one image file per frame)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.describe = f"replay camera ({config.folder})"
        self._files: list[Path] = []
        self._next = 0

    def _start(self) -> None:
        folder = self.config.folder
        if not folder.is_dir():
            raise CameraError(f"replay folder {folder} does not exist", "set [camera] folder")
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)
        if not self._files:
            raise CameraError(f"no images in {folder}", f"add {', '.join(_SUFFIXES)} files")
        self._next = 0
        logger.info("replay camera serving %d images from %s", len(self._files), folder)

    def _stop(self) -> None:
        self._files = []

    def capture_timed(self, count: int, timeout: float = 5.0) -> Burst:
        """The next ``count`` images, each stamped when read; past the end it loops, or fails
        when ``loop`` is off."""
        if not self.running:
            raise CameraError("replay camera is not started", "call start() first")
        frames: list[Frame] = []
        times: list[float] = []
        for _ in range(count):
            if self._next >= len(self._files):
                if not self.config.loop:
                    raise CameraError("replay camera has served every image", "set loop = true")
                self._next = 0
            frames.append(load_rgbx(self._files[self._next]))
            times.append(time.monotonic())
            self._next += 1
        return Burst(tuple(frames), tuple(times))


def create(config: Config) -> ReplayCamera:
    """Build the replay camera (files are listed at ``start``)."""
    return ReplayCamera(config)
