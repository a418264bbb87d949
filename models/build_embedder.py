"""Build models/face_embedder_int8.tflite from dlib's face-recognition ResNet and record it.

Run from the repository root in the build venv (``make models``): reads the dlib .dat shipped
in face_recognition_models (no dlib needed to read it), rebuilds the network in TensorFlow,
quantizes it to full integer int8 with a calibration set of aligned face chips (the calibration
photos of the wide face set, ``models.face_set``, and varied re-cuts of each face), measures
parity against dlib-bin with the device runtime (ai-edge-litert) on the sample photos and on the
held-out faces of the wide set (``models.wide_parity``) and writes the model and its manifest
entry, then the float32 twin for the benchmark (``build_float``, build cache only).
"""

import argparse
import importlib.metadata
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from host_tools import face_corpus
from host_tools.sample_faces import NAMES, images_dir
from models import build_float, chips, face_set, manifest, parity, resnet, tf_network, wide_parity
from models.dlib_reader import DlibNet, read_file

TARGET = manifest.MODELS_DIR / "face_embedder_int8.tflite"
SOURCE_PACKAGE = "face_recognition_models"
SOURCE_FILE = "dlib_face_recognition_resnet_model_v1.dat"
#: Varied re-cuts per calibration face (the clean chips are in the set too).
CALIBRATION_PER_FACE = 40
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


def calibration_set(net: DlibNet) -> tuple[np.ndarray, list[str]]:
    """Normalised calibration chips (clean and varied) of the wide set's calibration faces."""
    faces, _ = face_set.split(face_set.faces(face_corpus.photos()))
    clean = np.stack([f.pixels for f in faces])
    varied = face_set.variations(faces, CALIBRATION_PER_FACE, CALIBRATION_SEED)
    return resnet.normalise(np.concatenate([clean, varied]), net.mean_rgb), [f.label for f in faces]


def build(net: DlibNet, variants: list[str], calibration: np.ndarray,
          function: Any) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Convert each variant and measure it on the sample chips and the wide held-out set."""
    sample = chips.face_chips(images_dir(), NAMES)
    held_out = chips.augment([c.pixels for c in sample], HELD_OUT_COUNT, HELD_OUT_SEED)
    wide = wide_parity.held_out()
    results = {}
    for name in variants:
        print(f"[3/5] converting variant {name} on {len(calibration)} calibration chips")
        model = convert(function, calibration, VARIANTS[name])
        figures = parity.measure(model, net, sample, held_out)
        figures["wide_held_out"] = wide_parity.measure(
            model, net.mean_rgb, net.distance_threshold, wide) | {
                "held_out": wide_parity.describe()}
        results[name] = (model, figures)
        speed = parity.latency_ms(parity.interpreter(model), calibration[:2])
        print(f"    {name}: {parity.summary(figures)}, {speed} ms per chip, 1 thread")
    return results


def main(argv: list[str] | None = None) -> int:
    """Build every variant, measure it, keep the best and write the manifest entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", choices=sorted(VARIANTS), default=list(VARIANTS),
                        help="I/O variants to build and compare (default: all)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    source = Path(chips.model_path(SOURCE_FILE))
    print(f"[1/5] reading {source.name}")
    net = read_file(source)
    print("[2/5] aligning the wide face set with dlib, varying the calibration faces")
    calibration, calibration_faces = calibration_set(net)
    function = tf_network.concrete_function(net)
    results = build(net, args.variants, calibration, function)
    best = max(results, key=lambda n: parity.rank(results[n][1]))
    model, figures = results[best]
    TARGET.write_bytes(model)
    print(f"[4/5] kept {best}: {len(model)} bytes, writing the manifest entry")
    manifest.update_entry("face_embedder",
                          entry(source, net, best, figures, results, calibration_faces))
    # After the manifest, so the twin is never older than the entry it pairs with.
    print("[5/5] float32 twin of the same network for the benchmark (build cache, not shipped)")
    build_float.write(function, manifest.load()["models"]["face_embedder"])
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


def entry(source: Path, net: DlibNet, variant: str, figures: dict[str, Any],
          results: dict[str, tuple[bytes, dict[str, Any]]],
          calibration_faces: list[str]) -> dict[str, Any]:
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
        "calibration": {
            "chips": len(calibration_faces) * (CALIBRATION_PER_FACE + 1),
            "faces": calibration_faces,
            "how": (f"each dlib-aligned 150x150 chip and {CALIBRATION_PER_FACE} variations of "
                    f"it (models.face_set, numpy seed {CALIBRATION_SEED}): re-cut from the "
                    "photo with alignment error, sideways stretch and shear, mirror, gamma, "
                    "contrast, brightness, blur or lower resolution"),
            "corpus": face_corpus.describe(),
        },
        "parity": figures | {
            "held_out": (f"{HELD_OUT_COUNT} light augmentations of the sample chips (seed "
                         f"{HELD_OUT_SEED}; chips.augment), not in the calibration set"),
            "variants": {n: parity.summary(r[1]) for n, r in results.items()},
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
