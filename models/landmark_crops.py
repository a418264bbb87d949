"""Face-mesh crops of the wide face set's photos: calibration and held-out regions, varied.

Faces are found by the shipped BlazeFace detector (the firmware's own ``Detector``) and each
region is the firmware's (``Region.around``, the manifest's ``roi_scale``), then varied as a unit
sees it: scale, shift and roll of the region, gamma, contrast and brightness. Calibration and
held-out crops never share a photo (``models.face_set.HELD_OUT_PHOTOS``).
"""

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from host_tools.face_corpus import Photo
from models import manifest as models_manifest
from models.face_set import HELD_OUT_PHOTOS

__all__ = ["HELD_OUT_PHOTOS", "Crop", "crops", "cut", "regions", "split", "vary"]

SIZE = 192
ROI_SCALE = 1.5


@dataclass(frozen=True)
class Crop:
    """One model input (SIZE x SIZE x 3, 0..1) and the face it came from."""

    label: str
    pixels: np.ndarray


def regions(photos: list[Photo]) -> list[tuple[str, np.ndarray, tuple[float, float, float]]]:
    """Every detected face of the photos: label, RGB photo, region (x0, y0, side)."""
    from firmware.face import manifest
    from firmware.face.backends.runner import TfliteRunner
    from firmware.face.landmarks import Region
    from firmware.face.pipeline import Detector, DetectorSettings

    spec = manifest.load(models_manifest.MODELS_DIR).model(manifest.DETECTOR)
    detector = Detector(TfliteRunner(spec), spec, DetectorSettings())
    found = []
    for photo in photos:
        image = np.asarray(Image.open(photo.path).convert("RGB"))
        for i, face in enumerate(detector.detect(image)):
            region = Region.around(face, ROI_SCALE)
            found.append((f"{photo.label}#{i}", image, (region.x0, region.y0, region.side)))
    return found


def split(photos: list[Photo]) -> tuple[list[Photo], list[Photo]]:
    """(calibration photos, held-out photos)."""
    held = [p for p in photos if p.label in HELD_OUT_PHOTOS]
    return [p for p in photos if p.label not in HELD_OUT_PHOTOS], held


def cut(image: np.ndarray, region: tuple[float, float, float], scale: float = 1.0,
        shift: tuple[float, float] = (0.0, 0.0), roll_deg: float = 0.0) -> np.ndarray:
    """The region (scaled, shifted by fractions of its side, rolled) as a SIZE square, 0..255."""
    x0, y0, side = region
    side2 = side * scale
    cx, cy = x0 + side / 2 + shift[0] * side, y0 + side / 2 + shift[1] * side
    step = side2 / SIZE
    cos, sin = math.cos(math.radians(roll_deg)) * step, math.sin(math.radians(roll_deg)) * step
    # output (u, v) -> input: centre + R * step * ((u, v) - SIZE / 2)
    half = SIZE / 2
    coeffs = (cos, -sin, cx - cos * half + sin * half, sin, cos, cy - sin * half - cos * half)
    picture = Image.fromarray(image).transform((SIZE, SIZE), Image.Transform.AFFINE, coeffs,
                                               resample=Image.Resampling.BILINEAR)
    return np.asarray(picture, np.float32)


def vary(image: np.ndarray, region: tuple[float, float, float],
         rng: np.random.Generator) -> np.ndarray:
    """One varied crop, 0..1."""
    pixels = cut(image, region, float(rng.uniform(0.9, 1.12)),
                 (float(rng.uniform(-0.06, 0.06)), float(rng.uniform(-0.06, 0.06))),
                 float(rng.uniform(-15, 15)))
    gamma = float(rng.uniform(0.6, 1.6))
    pixels = 255.0 * (pixels / 255.0) ** gamma
    pixels = (pixels - 128.0) * float(rng.uniform(0.7, 1.3)) + 128.0 + float(rng.uniform(-20, 20))
    return (np.clip(pixels, 0, 255) / 255.0).astype(np.float32)


def crops(found: list[tuple[str, np.ndarray, tuple[float, float, float]]], per_face: int,
          seed: int, clean: bool = True) -> list[Crop]:
    """Each face's plain crop (when ``clean``) and ``per_face`` variations (numpy ``seed``)."""
    rng = np.random.default_rng(seed)
    out = []
    for label, image, region in found:
        if clean:
            out.append(Crop(label, cut(image, region) / 255.0))
        out += [Crop(label, vary(image, region, rng)) for _ in range(per_face)]
    return out
