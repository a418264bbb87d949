"""The face bench's int8-vs-float32 comparison: twin absent, present, corrupt or stale; memory."""

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware.face import manifest
from firmware.face.backends.runner import TfliteRunner
from firmware.face.pipeline import Embedder
from firmware.tools import face_bench as bench
from firmware.tools import float_baseline
from tests.firmware.face import tiny_tflite

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.fixture(scope="module")
def int8() -> manifest.ModelSpec:
    """The committed int8 embedder's manifest entry."""
    return manifest.load(MODELS).model(manifest.EMBEDDER)


@pytest.fixture(scope="module")
def chips() -> dict[str, np.ndarray]:
    """Three seeded random 150x150 chips: the comparison does not care what they show."""
    rng = np.random.default_rng(4)
    return {f"chip{i}": rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for i in range(3)}


def _normalised_head(chip: np.ndarray, int8: manifest.ModelSpec) -> np.ndarray:
    """What the tiny twin must output: the first 128 normalised values of the chip."""
    norm: dict[str, Any] = dict(int8.extra["normalisation"])
    mean = np.asarray(norm["mean_rgb"], np.float32)
    return ((chip.astype(np.float32) - mean) / float(norm["divisor"])).reshape(-1)[:128]


def test_absent_twin_names_the_command_that_builds_it(
        tmp_path: Path, int8: manifest.ModelSpec, chips: dict[str, np.ndarray]) -> None:
    result = float_baseline.compare(int8, chips, 1, tmp_path, None)
    message = result["float32"]
    assert isinstance(message, str)
    assert str(tmp_path / "face_embedder_float32.tflite") in message
    assert "make bench-models" in message
    assert set(result["ms_per_chip"]) == {"int8"} and result["ms_per_chip"]["int8"] > 0
    assert "int8_speedup" not in result and result["cosine"] == {}
    # The table harness reads these two keys; a string baseline means "no row".
    per_chip = bench._per_chip(result)
    assert per_chip == {"face_embedder": result["ms_per_chip"]["int8"], "float_baseline": message}


def test_present_twin_is_run_on_the_same_chips(
        tmp_path: Path, int8: manifest.ModelSpec, chips: dict[str, np.ndarray]) -> None:
    model = tiny_tflite.write_twin(tmp_path, float_baseline.KEY, dict(int8.extra))
    expected = {name: _normalised_head(chip, int8) for name, chip in chips.items()}
    result = float_baseline.compare(int8, chips, 1, tmp_path, expected)

    assert result["float32"]["path"] == str(model)
    assert result["float32"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    ms = result["ms_per_chip"]
    assert ms["int8"] > 0 and ms["float32"] > 0
    assert result["int8_speedup"] == round(ms["float32"] / ms["int8"], 2)
    assert result["runtime"] == "ai_edge_litert, 1 thread" and result["chips"] == 3
    # Given the expected outputs as the reference, a correct float run agrees exactly.
    assert result["cosine"]["float32_vs_dlib"]["min"] == pytest.approx(1.0, abs=1e-7)
    # float vs int8 is the cosine between the twin's output and the real int8 embedding.
    real = Embedder(TfliteRunner(int8, 1), int8)
    want = [float(np.dot(expected[n], real.embed(c)) / np.linalg.norm(expected[n])
                  / np.linalg.norm(real.embed(c))) for n, c in chips.items()]
    assert result["cosine"]["float32_vs_int8"]["min"] == pytest.approx(min(want), abs=1e-6)
    assert result["cosine"]["float32_vs_int8"]["chips"] == 3
    assert result["cosine"]["int8_vs_dlib"]["min"] == pytest.approx(min(want), abs=1e-6)


def test_corrupt_twin_is_refused_with_the_rebuild_command(
        tmp_path: Path, int8: manifest.ModelSpec, chips: dict[str, np.ndarray]) -> None:
    model = tiny_tflite.write_twin(tmp_path, float_baseline.KEY, dict(int8.extra))
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    result = float_baseline.compare(int8, chips, 1, tmp_path, None)
    assert "does not match the manifest" in result["float32"]
    assert "make -B bench-models" in result["float32"]
    assert "float32" not in result["ms_per_chip"]


def test_twin_of_another_network_is_refused(
        tmp_path: Path, int8: manifest.ModelSpec, chips: dict[str, np.ndarray]) -> None:
    entry = dict(int8.extra) | {"normalisation": {"mean_rgb": [0, 0, 0], "divisor": 1}}
    tiny_tflite.write_twin(tmp_path, float_baseline.KEY, entry)
    result = float_baseline.compare(int8, chips, 1, tmp_path, None)
    assert "another network" in result["float32"] and "normalisation" in result["float32"]
    assert "make -B bench-models" in result["float32"]


def test_built_twin_agrees_with_int8_and_dlib(int8: manifest.ModelSpec, images: Path) -> None:
    """The real float32 twin from `make bench-models`, on the sample photos' chips."""
    folder = float_baseline.DEFAULT_DIR
    if not (folder / float_baseline.SIDECAR).is_file():
        pytest.skip(f"no float32 twin in {folder}: build it with `make bench-models`")
    from tests.firmware.face.dlib_reference import Reference  # test-only, after the skip

    sidecar = json.loads((folder / float_baseline.SIDECAR).read_text())
    assert float_baseline.KEY in sidecar["models"] and "benchmark_only" in sidecar
    assert float_baseline.KEY not in json.loads((MODELS / "manifest.json").read_text())["models"]
    engine_chips = _sample_chips(images)
    ref = Reference.load()
    dlib = {name: ref.descriptor(chip) for name, chip in engine_chips.items()}
    result = float_baseline.compare(int8, engine_chips, 1, folder, dlib)
    cos = result["cosine"]
    assert cos["float32_vs_dlib"]["chips"] == len(engine_chips) >= 4
    assert cos["float32_vs_dlib"]["min"] >= 0.99999
    assert cos["float32_vs_int8"]["min"] >= 0.999
    assert cos["int8_vs_dlib"]["min"] >= 0.999


def _sample_chips(images: Path) -> dict[str, np.ndarray]:
    from firmware.face.backends.tflite import Config, TfliteFaceEngine

    engine = TfliteFaceEngine(Config(models_dir=MODELS, num_threads=1))
    engine.start()
    frames = {p.name: bench._load(p) for p in sorted(images.glob("*.jpg"))}
    return bench._chips(engine, frames)


def test_verify_process_memory_is_measured_with_encrypted_templates(images: Path) -> None:
    measured = bench._verify_peak_rss(MODELS, [images / "obama.jpg"])
    assert "error" not in measured, measured
    assert measured["exit_code"] == 0  # the enrolled photo matches its own template
    assert measured["command"] in ("-m firmware face", "-m firmware.cli.face")
    # A verify loads numpy and two models: tens of MB, never the launcher's few.
    assert 30 < measured["peak_rss_mb"]
