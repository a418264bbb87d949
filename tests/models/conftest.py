"""Shared fixtures for the model tests: the parsed dlib network and dlib-aligned sample chips."""

from pathlib import Path

import numpy as np
import pytest

from host_tools import face_corpus
from host_tools.sample_faces import NAMES, images_dir
from models import chips, face_set
from models.dlib_reader import DlibNet, read_file


@pytest.fixture(scope="session")
def dlib_net() -> DlibNet:
    """dlib's face-recognition network, parsed by our reader."""
    return read_file(Path(chips.model_path("dlib_face_recognition_resnet_model_v1.dat")))


@pytest.fixture(scope="session")
def photo_dir() -> Path:
    """The sample photos' folder (skips when the photos cannot be fetched)."""
    try:
        return images_dir()
    except FileNotFoundError as err:
        pytest.skip(f"sample photos unavailable: {err}")


@pytest.fixture(scope="session")
def sample_chips(photo_dir: Path) -> list[chips.Chip]:
    """dlib-aligned chips of the sample photos."""
    return chips.face_chips(photo_dir, NAMES)


@pytest.fixture(scope="session")
def dlib_reference(sample_chips: list[chips.Chip]) -> np.ndarray:
    """dlib-bin's own descriptors of the sample chips."""
    return chips.dlib_descriptors([c.pixels for c in sample_chips])


@pytest.fixture(scope="session")
def wide_faces() -> list[face_set.Face]:
    """Every face of the wide corpus (skips when its photos cannot be fetched)."""
    try:
        photos = face_corpus.photos()
    except FileNotFoundError as err:
        pytest.skip(f"face corpus unavailable: {err}")
    return face_set.faces(photos)
