"""Manifest checks: a changed file, changed tensor specs or a missing manifest are refused."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from firmware.errors import VerifyError
from firmware.face import manifest
from firmware.face.backends.runner import TfliteRunner, interpreter_class

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A private copy of the detector bundle that a test may damage."""
    if not (MODELS / "manifest.json").is_file():
        pytest.skip("models/manifest.json not present")
    data = json.loads((MODELS / "manifest.json").read_text())
    entry = data["models"]["face_detector"]
    shutil.copy(MODELS / entry["file"], tmp_path / entry["file"])
    data["models"] = {"face_detector": entry}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    return tmp_path


def test_detector_runs_on_litert_with_manifest_order(bundle: Path) -> None:
    runner = TfliteRunner(manifest.load(bundle).model("face_detector"))
    assert runner.runtime == "ai_edge_litert"
    regressors, scores = runner.run(np.zeros((1, 128, 128, 3), np.float32))
    assert regressors.shape == (1, 896, 16) and scores.shape == (1, 896, 1)


def test_a_changed_model_file_is_refused(bundle: Path) -> None:
    spec = manifest.load(bundle).model("face_detector")
    blob = bytearray(spec.path.read_bytes())
    blob[1000] ^= 0xFF
    spec.path.write_bytes(bytes(blob))
    with pytest.raises(VerifyError, match="does not match the manifest"):
        TfliteRunner(spec)


def test_a_tensor_spec_mismatch_is_refused_with_what_differs(bundle: Path) -> None:
    data = json.loads((bundle / "manifest.json").read_text())
    data["models"]["face_detector"]["input"]["shape"] = [1, 192, 192, 3]
    (bundle / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(VerifyError, match=r"input 'input' is float32\[1, 128, 128, 3\]"):
        TfliteRunner(manifest.load(bundle).model("face_detector"))


def test_missing_manifest_or_model_names_the_fix(tmp_path: Path, bundle: Path) -> None:
    with pytest.raises(VerifyError, match="not found") as err:
        manifest.load(tmp_path / "nowhere")
    assert "make models" in str(err.value)
    with pytest.raises(VerifyError, match="no 'face_embedder' model"):
        manifest.load(bundle).model("face_embedder")


def test_unavailable_runtime_says_what_to_install() -> None:
    try:
        import tflite_runtime  # noqa: F401
    except ImportError:
        with pytest.raises(VerifyError, match="pip install ai-edge-litert"):
            interpreter_class("tflite_runtime")
    else:
        assert interpreter_class("tflite_runtime")[1] == "tflite_runtime"
