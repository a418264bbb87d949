"""The committed int8 embedder: manifest consistency and parity with dlib-bin on real faces."""

import itertools
import json

import numpy as np
import pytest

from models import chips, manifest, parity, resnet
from models.dlib_reader import DlibNet

ENTRY = json.loads(manifest.MANIFEST.read_text())["models"]["face_embedder"]
MODEL = manifest.MODELS_DIR / ENTRY["file"]


def test_manifest_describes_the_committed_file() -> None:
    assert manifest.sha256_of(MODEL) == ENTRY["sha256"]
    assert MODEL.stat().st_size == ENTRY["bytes"]
    source = chips.model_path("dlib_face_recognition_resnet_model_v1.dat")
    assert manifest.sha256_of(manifest.Path(source)) == ENTRY["source"]["sha256"]
    inputs, outputs = manifest.tensor_specs(MODEL)
    assert inputs == [ENTRY["input"]] and outputs == [ENTRY["output"]]
    assert ENTRY["input"]["shape"] == [1, 150, 150, 3] and ENTRY["output"]["shape"] == [1, 128]
    assert (ENTRY["metric"], ENTRY["threshold"]) == ("euclidean", 0.6)


def test_every_tensor_between_input_and_output_is_integer() -> None:
    runner = parity.interpreter(MODEL.read_bytes())
    dtypes = {d["dtype"] for d in runner.get_tensor_details()}
    assert np.float32 not in dtypes


@pytest.fixture(scope="module")
def int8_embeddings(dlib_net: DlibNet, sample_chips: list[chips.Chip]) -> np.ndarray:
    runner = parity.interpreter(MODEL.read_bytes())
    batch = np.stack([c.pixels for c in sample_chips])
    return parity.embed(runner, resnet.normalise(batch, dlib_net.mean_rgb))


def test_int8_embeddings_agree_with_dlib(
    int8_embeddings: np.ndarray, dlib_reference: np.ndarray
) -> None:
    cos = parity.cosines(int8_embeddings, dlib_reference)
    assert cos.min() >= 0.999


def test_no_same_or_different_decision_flips_at_the_threshold(
    int8_embeddings: np.ndarray, dlib_reference: np.ndarray, sample_chips: list[chips.Chip]
) -> None:
    threshold = ENTRY["threshold"]
    for i, j in itertools.combinations(range(len(sample_chips)), 2):
        ref = np.linalg.norm(dlib_reference[i] - dlib_reference[j]) < threshold
        ours = np.linalg.norm(int8_embeddings[i] - int8_embeddings[j]) < threshold
        assert ours == ref, (sample_chips[i].source, sample_chips[j].source)
    # The sample set holds both kinds of pair, so the check above tests both directions.
    same = parity.pair_distances(dlib_reference) < threshold
    assert same.any() and not same.all()


def test_recorded_parity_figures_are_reproduced(
    int8_embeddings: np.ndarray, dlib_reference: np.ndarray
) -> None:
    recorded = ENTRY["parity"]["sample_chips"]
    measured = parity.compare(int8_embeddings, dlib_reference, ENTRY["threshold"])
    assert measured["cosine_min"] == pytest.approx(recorded["cosine_min"], abs=1e-4)
    assert measured["decisions_flipped"] == recorded["decisions_flipped"] == 0
    assert recorded["cosine_min"] >= 0.999
