"""Benchmark of the device face pipeline: stage latency, memory, model size, accuracy vs dlib.

Everything runs on one thread. dlib's own pipeline (the reference) runs in a separate process
from a test-only script, so dlib is never imported by the firmware.
"""

import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from firmware.errors import VerifyError
from firmware.face import align, evaluation, manifest, matcher, quality
from firmware.face.backends.runner import TfliteRunner
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.face.pipeline import Embedder

# The full device command first; the face commands alone if the rest of the CLI cannot load.
_COMMANDS = (
    [sys.executable, "-m", "firmware", "face"],
    [sys.executable, "-m", "firmware.cli.face"],
)
_CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_IMAGES = _CHECKOUT / ".cache" / "face_recognition-1.3.0-images"
DEFAULT_REFERENCE = _CHECKOUT / "tests" / "firmware" / "face" / "dlib_reference.py"


def run(models: Path, images: Path | None, repeats: int, reference: Path | None) -> dict[str, Any]:
    """All figures as one JSON-able dict."""
    folder = images or DEFAULT_IMAGES
    paths = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if not paths:
        raise VerifyError(f"no sample photos in {folder}", "pass --images DIR, or fetch them with "
                          "python -c 'import host_tools.sample_faces as s; s.images_dir()'")
    engine = TfliteFaceEngine(Config(models_dir=models, num_threads=1))
    engine.start()
    frames = {p.name: _load(p) for p in paths}
    stages, embeddings = _stages(engine, frames, repeats)
    bundle = manifest.load(models)
    result: dict[str, Any] = {
        "threads": 1,
        "images": {name: list(frame.shape[:2]) for name, frame in frames.items()},
        "median_ms": stages,
        "embedders_ms_per_chip": _embedders(bundle, frames, engine, repeats),
        "model_bytes": {k: m.size for k, m in bundle.models.items()},
        "verify_process": _verify_peak_rss(models, paths),
    }
    result["reference"] = _reference(reference or DEFAULT_REFERENCE, paths, embeddings,
                                     engine.threshold, result)
    return result


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB"))


def _stages(engine: TfliteFaceEngine, frames: dict[str, np.ndarray],
            repeats: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    pipe = engine.pipeline
    if pipe.embedder is None:
        raise VerifyError("no embedder loaded", "install the model bundle")
    times: dict[str, list[float]] = {k: [] for k in ("detect", "align", "embed", "match", "frame")}
    embeddings: dict[str, np.ndarray] = {}
    template: matcher.Template | None = None
    for name, frame in frames.items():
        for _ in range(repeats):
            t0 = time.perf_counter()
            faces = pipe.detector.detect(frame)
            t1 = time.perf_counter()
            if not faces:
                break
            chip = align.chip(frame, faces[0].keypoints)
            quality.measure(faces, chip)
            t2 = time.perf_counter()
            vector = pipe.embedder.embed(chip)
            t3 = time.perf_counter()
            template = template or matcher.Template(vector, 1, 0.0, engine.model_sha256)
            template.distance(vector)
            t4 = time.perf_counter()
            for key, value in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0),
                                  strict=True):
                times[key].append(value * 1000)
            embeddings[name] = vector
    return {k: round(statistics.median(v), 3) for k, v in times.items() if v}, embeddings


def _embedders(bundle: manifest.Manifest, frames: dict[str, np.ndarray],
               engine: TfliteFaceEngine, repeats: int) -> dict[str, float | str]:
    """Median ms per chip for every embedder in the manifest (int8 and any float baseline)."""
    frame = next(iter(frames.values()))
    chip = align.chip(frame, engine.pipeline.detector.detect(frame)[0].keypoints)
    out: dict[str, float | str] = {}
    for key, spec in bundle.models.items():
        if not key.startswith("face_embedder"):
            continue
        embedder = Embedder(TfliteRunner(spec, 1), spec)
        embedder.embed(chip)  # first call allocates; keep it out of the figure
        runs = []
        for _ in range(max(repeats, 5)):
            t0 = time.perf_counter()
            embedder.embed(chip)
            runs.append((time.perf_counter() - t0) * 1000)
        out[key] = round(statistics.median(runs), 3)
    if len(out) == 1:
        out["float_baseline"] = "not in the manifest (only the int8 model is shipped)"
    return out


def _verify_peak_rss(models: Path, paths: list[Path]) -> dict[str, Any]:
    """Peak resident memory (MB) of a `face verify` process on one photo."""
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.json"
        for base in _COMMANDS:
            made = subprocess.run([*base, "enroll", "--models", str(models), "--out",
                                   str(template), str(paths[0])], capture_output=True, check=False)
            if made.returncode != 0:
                continue
            verify = subprocess.Popen(
                # The enrolled photo again, so every stage (embed and match included) runs.
                [*base, "verify", "--models", str(models), "--template", str(template),
                 str(paths[0])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # wait4 gives this one process's own rusage (ru_maxrss in KiB on Linux).
            _, status, usage = os.wait4(verify.pid, 0)
            verify.returncode = os.waitstatus_to_exitcode(status)  # reaped; Popen must not wait
            return {"command": " ".join(base[1:]), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                    "exit_code": verify.returncode}
    return {"error": "neither face command could enrol; see `fieldcheck-device face enroll`"}


def _identity(name: str) -> str:
    match = re.match(r"[a-z]+", name)
    return match.group(0) if match else name


def _reference(script: Path, paths: list[Path], ours: dict[str, np.ndarray], threshold: float,
               result: dict[str, Any]) -> dict[str, Any] | None:
    """dlib's pipeline on the same photos, in its own process; ``None`` when unavailable."""
    if not script.is_file():
        return None
    proc = subprocess.run([sys.executable, str(script), *map(str, paths)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-300:]}
    ref = json.loads(proc.stdout)
    theirs = {k: np.asarray(v) for k, v in ref["descriptors"].items() if v is not None}
    names = sorted(set(ours) & set(theirs))
    pairs = list(itertools.combinations(names, 2))

    def scores(vectors: dict[str, np.ndarray]) -> list[evaluation.PairScore]:
        return [evaluation.PairScore(a, b, _identity(a) == _identity(b),
                                     float(np.linalg.norm(vectors[a] - vectors[b])))
                for a, b in pairs]

    dlib_ms = ref["median_ms"]
    return {
        "median_ms": dlib_ms,
        "embed_speedup": round(dlib_ms["embed"] / result["median_ms"]["embed"], 1),
        "frame_speedup": round(dlib_ms["frame"] / result["median_ms"]["frame"], 1),
        "pairs": len(pairs),
        "accuracy_ours": evaluation.figures(scores(ours), threshold).accuracy,
        "accuracy_dlib": evaluation.figures(scores(theirs), threshold).accuracy,
        "embedding_distance_to_dlib": {
            n: round(float(np.linalg.norm(ours[n] - theirs[n])), 4) for n in names
        },
    }
