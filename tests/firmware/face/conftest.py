"""Shared fixtures: the real sample photos, the checkout's models, a started engine."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from firmware.face.backends.tflite import Config, TfliteFaceEngine

REPO = Path(__file__).resolve().parents[3]
MODELS = REPO / "models"


@pytest.fixture(scope="session")
def images() -> Path:
    """The face_recognition 1.3.0 sample photos (downloaded into .cache once)."""
    from host_tools import sample_faces

    try:
        return sample_faces.images_dir()
    except FileNotFoundError as err:
        pytest.skip(f"sample photos unavailable: {err}")


@pytest.fixture(scope="session")
def photo(images: Path):  # noqa: ANN201 - returns a loader function
    """Load a sample photo by stem as an RGB array."""

    def load(stem: str) -> np.ndarray:
        with Image.open(images / f"{stem}.jpg") as picture:
            return np.asarray(picture.convert("RGB"))

    return load


@pytest.fixture(scope="session")
def engine() -> TfliteFaceEngine:
    """The real pipeline on the checkout's models (skips when the embedder is not built yet)."""
    if not (MODELS / "manifest.json").is_file():
        pytest.skip("models/manifest.json not present")
    started = TfliteFaceEngine(Config(models_dir=MODELS), need_embedder=False)
    started.start()
    return started
