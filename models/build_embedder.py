"""Build models/face_embedder_int8.tflite from dlib's face-recognition ResNet and record it.

Run from the repository root in the build venv (``make models``): reads the dlib .dat shipped
in face_recognition_models (no dlib needed to read it), rebuilds the network in TensorFlow,
quantizes it to full integer int8 with a calibration set of aligned face chips, measures parity
against dlib-bin on the sample photos with the device runtime (ai-edge-litert) and writes the
model and its manifest entry, then the float32 twin for the benchmark (``build_float``, build
cache only).
"""

import argparse
import importlib.metadata
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from host_tools.sample_faces import NAMES, images_dir
from models import build_float, chips, manifest, parity, resnet, tf_network
from models.dlib_reader import DlibNet, read_file

TARGET = manifest.MODELS_DIR / "face_embedder_int8.tflite"
SOURCE_PACKAGE = "face_recognition_models"
SOURCE_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CALIBRATION_COUNT = 300
CALIBRATION_SEED = 20240501
HELD_OUT_COUNT = 120
HELD_OUT_SEED = 7
#: int8 internals everywhere; the I/O types are what the variants differ in.
VARIANTS = {"int8-io": tf.int8, "float-io": tf.float32}


def convert(function: Any, calibration: np.ndarray, io_type: Any) -> bytes:
    """Full-integer post-training quantization (per-channel weights, int8 activations)."""
    def representative() -> Iterator[list[np.ndarray]]:
        for i, sample in enumerate(calibration):
            if i % 50 == 0:
                print(f"    calibration {i}/{len(calibration)}", flush=True)
            yield [sample[None]]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = io_type
    converter.inference_output_type = io_type
    return bytes(converter.convert())


def main(argv: list[str] | None = None) -> int:
    """Build every variant, measure it, keep the best and write the manifest entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    started = time.monotonic()
    source = Path(chips.model_path(SOURCE_FILE))
    print(f"[1/5] reading {source.name}")
    net = read_file(source)
    print("[2/5] aligning sample faces with dlib and augmenting the calibration set")
    sample = chips.face_chips(images_dir(), NAMES)
    base = [c.pixels for c in sample]
    calibration = resnet.normalise(chips.augment(base, CALIBRATION_COUNT, CALIBRATION_SEED),
                                   net.mean_rgb)
    held_out = chips.augment(base, HELD_OUT_COUNT, HELD_OUT_SEED)
    function = tf_network.concrete_function(net)
    results = {}
    for name, io_type in VARIANTS.items():
        print(f"[3/5] converting variant {name}")
        model = convert(function, calibration, io_type)
        results[name] = (model, parity.measure(model, net, sample, held_out))
        speed = parity.latency_ms(parity.interpreter(model), calibration[:2])
        print(f"    {name}: {parity.summary(results[name][1])}, {speed} ms per chip, 1 thread")
    best = max(results, key=lambda n: parity.rank(results[n][1]))
    model, figures = results[best]
    TARGET.write_bytes(model)
    print(f"[4/5] kept {best}: {len(model)} bytes, writing the manifest entry")
    manifest.update_entry("face_embedder", entry(source, net, best, figures, results))
    # After the manifest, so the twin is never older than the entry it pairs with.
    print("[5/5] float32 twin of the same network for the benchmark (build cache, not shipped)")
    build_float.write(function, manifest.load()["models"]["face_embedder"])
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


def entry(source: Path, net: DlibNet, variant: str, figures: dict[str, Any],
          results: dict[str, tuple[bytes, dict[str, Any]]]) -> dict[str, Any]:
    """The embedder's manifest entry."""
    inputs, outputs = manifest.tensor_specs(TARGET)
    return manifest.artifact(TARGET) | {
        "version": f"dlib_face_recognition_resnet_model_v1/int8-{variant}/tf-{tf.__version__}",
        "source": {
            "package": SOURCE_PACKAGE,
            "package_version": importlib.metadata.version(SOURCE_PACKAGE),
            "file": f"face_recognition_models/models/{SOURCE_FILE}",
            "sha256": manifest.sha256_of(source),
            "licence": "CC0-1.0",
        },
        "quantization": (
            "full-integer post-training quantization: int8 activations, per-channel int8 "
            f"weights, int32 biases, no float fallback ops. I/O variant '{variant}': int8 input "
            "and output gave the same parity as float I/O (parity.variants) and skip the "
            "quantize/dequantize ops; the caller quantizes the normalised chip with the input "
            "(scale, zero_point) and dequantizes the output"
        ),
        "input": inputs[0],
        "output": outputs[0],
        "normalisation": {"mean_rgb": [round(m, 3) for m in net.mean_rgb], "divisor": 256,
                          "layout": "RGB", "chip": {"size": chips.CHIP_SIZE,
                                                    "padding": chips.CHIP_PADDING,
                                                    "alignment": "dlib 5-point"}},
        "metric": "euclidean",
        "threshold": round(net.distance_threshold, 6),
        "calibration": (
            f"{CALIBRATION_COUNT} chips: the {len(figures['chips'])} dlib-aligned 150x150 "
            "chips of the face_recognition 1.3.0 sample photos (obama, obama2, obama3, biden, "
            "two partial faces), each mirrored at random, shifted by up to 4 px and changed in "
            f"brightness (x0.8-1.2, +-20), numpy seed {CALIBRATION_SEED}"
        ),
        "parity": figures | {
            "held_out": (f"{HELD_OUT_COUNT} further augmentations of the same chips (seed "
                         f"{HELD_OUT_SEED}), not in the calibration set"),
            "variants": {n: parity.summary(r[1]) for n, r in results.items()},
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
