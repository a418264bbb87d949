"""Build the float32 twin of the embedder into the build cache: a benchmark baseline, never shipped.

``make bench-models`` runs this alone (``python -m models.build_float`` in .venv-build); ``make
models`` calls :func:`write` with the function it has just quantized. The twin is the same
traced network (same weights, same normalised float input) converted without quantization. It
lives in ``.cache/models/`` (outside git, outside the device bundle) beside a sidecar JSON in
the manifest's own format, so the benchmark checks its sha256 and tensors with the firmware's
code; models/manifest.json does not list it, so no device ever looks for it.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import tensorflow as tf

from models import chips, manifest, tf_network
from models.dlib_reader import read_file

CACHE_DIR = manifest.MODELS_DIR.parent / ".cache" / "models"
KEY = "face_embedder_float32"
TARGET = CACHE_DIR / f"{KEY}.tflite"
SIDECAR = CACHE_DIR / f"{KEY}.json"
#: What the int8 entry and its float twin must share for the comparison to mean anything.
SHARED_FIELDS = ("source", "normalisation", "metric", "threshold")


def convert(function: Any) -> bytes:
    """Plain float32 conversion: no optimizations, so weights and activations stay float32."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    return bytes(converter.convert())


def write(function: Any, int8_entry: dict[str, Any]) -> Path:
    """Convert, write the twin and its sidecar; returns the model's path."""
    started = time.monotonic()
    print(f"    converting the float32 twin -> {TARGET}", flush=True)
    model = convert(function)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(model)
    SIDECAR.write_text(json.dumps(sidecar(int8_entry), indent=2) + "\n", encoding="utf-8")
    print(f"    {len(model)} bytes, sidecar {SIDECAR.name}, {time.monotonic() - started:.0f} s")
    return TARGET


def sidecar(int8_entry: dict[str, Any]) -> dict[str, Any]:
    """A one-model manifest (same schema as models/manifest.json) for the twin."""
    inputs, outputs = manifest.tensor_specs(TARGET)
    entry = manifest.artifact(TARGET) | {
        "version": f"{Path(int8_entry['source']['file']).stem}/float32/tf-{tf.__version__}",
        "input": inputs[0],
        "output": outputs[0],
    } | {field: int8_entry[field] for field in SHARED_FIELDS}
    return {
        "schema": manifest.SCHEMA,
        "benchmark_only": (
            "float32 twin of face_embedder for `fieldcheck-device face bench`; not part of "
            "the device bundle (models/manifest.json does not list it)"
        ),
        "pairs_with": {"key": "face_embedder", "file": int8_entry["file"],
                       "sha256": int8_entry["sha256"]},
        "models": {KEY: entry},
    }


def main(argv: list[str] | None = None) -> int:
    """Build only the twin, from the source file the committed manifest names."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    started = time.monotonic()
    int8_entry = manifest.load()["models"]["face_embedder"]
    source = Path(chips.model_path(Path(int8_entry["source"]["file"]).name))
    if manifest.sha256_of(source) != int8_entry["source"]["sha256"]:
        raise SystemExit(f"{source} is not the file models/manifest.json was built from "
                         "(sha256 differs): run `make models` to rebuild both models")
    print(f"[1/3] reading {source.name}", flush=True)
    net = read_file(source)
    print("[2/3] tracing the network in TensorFlow", flush=True)
    function = tf_network.concrete_function(net)
    print("[3/3] float32 conversion (no quantization)", flush=True)
    write(function, int8_entry)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
