"""The int8 face-mesh build's parts: crops like the firmware's, split by photo, and (where
TensorFlow is installed, the build venv) the op-by-op rebuild of the float model."""

from pathlib import Path

import numpy as np
import pytest

from firmware.face.landmarks import Region, crop
from host_tools.face_corpus import Photo
from models import landmark_crops
from models.face_set import HELD_OUT_PHOTOS

FLOAT_MODEL = Path(__file__).resolve().parents[2] / "models" / "face_landmark.tflite"


def test_a_plain_calibration_crop_is_the_firmwares_crop_of_the_region() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    region = (50.3, 40.6, 180.2)
    ours = landmark_crops.cut(image, region) / 255.0
    firmware = crop(image, Region(*region), landmark_crops.SIZE)
    # Pillow bilinear against the firmware crop: within the 2 grey levels the crop promises
    assert np.abs(ours - firmware).max() <= 2.0 / 255 + 1e-6


def test_variations_stay_in_range_and_repeat_with_their_seed() -> None:
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    found = [("a/x.jpg#0", image, (60.0, 50.0, 170.0))]
    first = landmark_crops.crops(found, 3, seed=9)
    again = landmark_crops.crops(found, 3, seed=9)
    assert len(first) == 4
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.pixels, b.pixels)
        assert a.pixels.shape == (landmark_crops.SIZE, landmark_crops.SIZE, 3)
        assert 0.0 <= a.pixels.min() and a.pixels.max() <= 1.0
    assert not np.array_equal(first[1].pixels, first[2].pixels)


def test_calibration_and_held_out_photos_never_overlap() -> None:
    photos = [Photo(label, Path(label)) for label in sorted(HELD_OUT_PHOTOS)]
    photos += [Photo("face_recognition/obama.jpg", Path("obama.jpg"))]
    calibration, held = landmark_crops.split(photos)
    assert {p.label for p in held} == set(HELD_OUT_PHOTOS)
    assert [p.label for p in calibration] == ["face_recognition/obama.jpg"]


def test_the_tf_rebuild_computes_what_the_float_tflite_computes() -> None:
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is in the build venv only")
    from models import build_landmarks
    from models.landmark_graph import Graph, concrete_function

    tf.config.optimizer.set_experimental_options({"remapping": False})
    inputs = np.random.default_rng(5).random((2, 192, 192, 3)).astype(np.float32)
    assert build_landmarks.check_rebuild(concrete_function(Graph(FLOAT_MODEL)), inputs) < 1e-3
