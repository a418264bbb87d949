"""Face pipeline benchmark: stage latency, int8 vs float32, memory, model size, accuracy vs dlib.

Everything runs on one thread. The stages are timed on frames as the unit's camera gives them
(RGBX, 4 bytes per pixel, read in place); detect and align are also timed on the same photos as
3-byte RGB frames (image files, as enrolment reads them), interleaved in the same loop. dlib's
own pipeline (the reference) runs on the RGB photo files in a separate process from a test-only
script, so dlib is never imported by the firmware.
"""

import itertools
import json
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from firmware.errors import VerifyError
from firmware.face import align, detector, manifest, matcher, picture, quality
from firmware.face.backends.runner import TfliteRunner
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.face.pipeline import Pipeline
from firmware.tools import face_eval as evaluation
from firmware.tools import float_baseline, xnnpack_report

logger = logging.getLogger(__name__)

# The full device command first; the face commands alone if the rest of the CLI cannot load.
_COMMANDS = (
    [sys.executable, "-m", "firmware", "face"],
    [sys.executable, "-m", "firmware.cli.face"],
)
# Linux carries a process's RSS high-water mark across exec, so a child forked from this
# process (the engine and both embedders loaded: 150+ MB) would report at least that much.
# A bare launcher forks the verify instead; what it passes on is its own few MB.
_LAUNCHER = (
    "import json, os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"  # ru_maxrss in KiB on Linux
    "print(json.dumps([usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))\n"
)
_CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_IMAGES = _CHECKOUT / ".cache" / "face_recognition-1.3.0-images"
DEFAULT_REFERENCE = _CHECKOUT / "tests" / "firmware" / "face" / "dlib_reference.py"


def run(models: Path, images: Path | None, repeats: int, reference: Path | None,
        float_dir: Path | None = None) -> dict[str, Any]:
    """All figures as one JSON-able dict.

    ``float_dir`` holds the float32 twin of the embedder (default: the checkout's build cache,
    where `make bench-models` writes it); without it the int8-vs-float figures say how to
    build it.
    """
    folder = images or DEFAULT_IMAGES
    paths = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if not paths:
        raise VerifyError(f"no sample photos in {folder}", "pass --images DIR, or fetch them with "
                          "python -c 'import host_tools.sample_faces as s; s.images_dir()'")
    engine = TfliteFaceEngine(Config(models_dir=models, num_threads=1))
    engine.start()
    photos = {p.name: _load(p) for p in paths}
    frames = {name: picture.rgbx(rgb) for name, rgb in photos.items()}  # as the camera gives
    timed = _stages(engine, frames, repeats, photos)
    stages, bare, embeddings = timed.wall, timed.bare, timed.embeddings
    # What the detect stage does outside the model, timed alone in the same loop.
    parts = {k: bare.pop(k) for k in _PARTS if k in bare}
    cpu_bare = dict(timed.cpu_bare)
    cpu_parts = {k: cpu_bare.pop(k) for k in _PARTS if k in cpu_bare}
    rgb = {k.removeprefix("rgb_"): stages.pop(k) for k in list(stages) if k.startswith("rgb_")}
    cpu = dict(timed.cpu)
    cpu_rgb = {k.removeprefix("rgb_"): cpu.pop(k) for k in list(cpu) if k.startswith("rgb_")}
    bundle = manifest.load(models)
    script = reference or DEFAULT_REFERENCE
    chips = _chips(engine, frames)
    versus = float_baseline.compare(bundle.model(manifest.EMBEDDER), chips, repeats,
                                    float_dir or float_baseline.DEFAULT_DIR,
                                    _dlib_on_chips(script, chips))
    result: dict[str, Any] = {
        "threads": 1,
        "images": {name: list(frame.shape[:2]) for name, frame in frames.items()},
        "frames": "RGBX (the camera's 4-byte pixels, read in place)",
        "median_ms": stages,
        # detect and align on the same photos as 3-byte RGB frames, in the same loop
        "rgb_frames": {"median_ms": rgb, "cpu_median_ms": cpu_rgb},
        "bare_invoke_ms": bare,
        "stage_over_bare_invoke": {k: round(stages[k] / v, 3) for k, v in bare.items() if v},
        "detect_parts_ms": parts,
        # The same loop in this process's CPU time: what other processes on a shared machine
        # take while it waits for a core stays out (wall medians there are mostly the queue).
        "cpu": {"median_ms": cpu, "bare_invoke_ms": cpu_bare, "detect_parts_ms": cpu_parts},
        "xnnpack": {"embedder": _xnnpack(engine.pipeline, "embedder"),
                    "detector": _xnnpack(engine.pipeline, "detector")},
        "embedders_ms_per_chip": _per_chip(versus),
        "int8_vs_float32": versus,
        "model_bytes": {k: m.size for k, m in bundle.models.items()},
        "verify_process": _verify_peak_rss(models, paths),
    }
    result["reference"] = _reference(script, paths, embeddings, engine.threshold, result)
    return result


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB"))


@dataclass(frozen=True)
class Timed:
    """Median ms per stage and per bare invoke (and detect part), in wall and CPU time."""

    wall: dict[str, float]
    bare: dict[str, float]
    cpu: dict[str, float]
    cpu_bare: dict[str, float]
    embeddings: dict[str, np.ndarray]


#: "align" is the chip alone (what dlib's get_face_chip does); "quality" the gates' figures on it.
STAGES = ("detect", "align", "quality", "embed", "match")
#: The stages timed again on the RGB twin of each frame.
_RGB = tuple(f"rgb_{k}" for k in (*STAGES, "frame"))
#: The detect stage's own parts, timed alone (on RGBX frames, and the letterbox on RGB too).
_PARTS = ("letterbox", "decode", "letterbox_rgb")


def _stages(engine: TfliteFaceEngine, frames: dict[str, np.ndarray], repeats: int,
            photos: dict[str, np.ndarray]) -> Timed:
    """Median ms per stage, and of each model's bare invoke on the same input, interleaved
    repeat by repeat so the machine's noise hits both alike; each photo's RGB twin
    (``photos``) goes through the same stages in the same loop (keys ``rgb_detect`` ...)."""
    pipe = engine.pipeline
    if pipe.embedder is None:
        raise VerifyError("no embedder loaded", "install the model bundle")
    wall: dict[str, list[float]] = {k: [] for k in (*STAGES, "frame", *_RGB)}
    cpu: dict[str, list[float]] = {k: [] for k in (*STAGES, "frame", *_RGB)}
    bare: dict[str, list[float]] = {}
    cpu_bare: dict[str, list[float]] = {}
    embeddings: dict[str, np.ndarray] = {}  # of the RGBX frames (the RGB twins' are the same)
    template: matcher.Template | None = None
    for name, frame in frames.items():
        invokes = _bare_invokes(pipe, frame, photos[name])
        for repeat in range(repeats if invokes else 0):
            # Both layouts go through every stage (so each detect follows an embed, as on the
            # unit), and which goes first alternates: the second finds the photo warmer.
            layouts = (("", frame), ("rgb_", photos[name]))
            for prefix, shown in reversed(layouts) if repeat % 2 else layouts:
                marks, vector, template = _one_frame(engine, shown, template)
                embeddings.setdefault(name, vector)
                _record(wall, cpu, tuple(prefix + k for k in STAGES), marks)
                _record(wall, cpu, (prefix + "frame",), [marks[0], marks[-1]])
            for key, invoke in (reversed(invokes.items()) if repeat % 2 else invokes.items()):
                start = _clocks()
                invoke()
                end = _clocks()
                bare.setdefault(key, []).append((end[0] - start[0]) * 1000)
                cpu_bare.setdefault(key, []).append((end[1] - start[1]) * 1000)
    return Timed(_medians(wall), _medians(bare), _medians(cpu), _medians(cpu_bare), embeddings)


def _record(wall: dict[str, list[float]], cpu: dict[str, list[float]], keys: tuple[str, ...],
            marks: list[tuple[float, float]]) -> None:
    """Append each key's ms between consecutive ``marks`` (wall and CPU time)."""
    for key, (start, end) in zip(keys, itertools.pairwise(marks), strict=True):
        wall[key].append((end[0] - start[0]) * 1000)
        cpu[key].append((end[1] - start[1]) * 1000)


def _clocks() -> tuple[float, float]:
    """Wall time and this process's CPU time, in seconds."""
    return time.perf_counter(), time.process_time()


def _one_frame(engine: TfliteFaceEngine, frame: np.ndarray, template: matcher.Template | None
               ) -> tuple[list[tuple[float, float]], np.ndarray, matcher.Template]:
    """One frame through the stages: the clocks before each stage and after the last, the
    embedding, and the template it is matched against (made from the first one, untimed)."""
    pipe = engine.pipeline
    assert pipe.embedder is not None
    marks = [_clocks()]
    faces = pipe.detector.detect(frame)
    marks.append(_clocks())
    chip = align.chip(frame, faces[0].keypoints)
    marks.append(_clocks())
    quality.measure(faces, chip)
    marks.append(_clocks())
    vector = pipe.embedder.embed(chip)
    marks.append(_clocks())
    if template is None:
        template = matcher.Template(vector, 1, 0.0, engine.model_sha256)
        marks[-1] = _clocks()  # the template is made once, outside the match stage
    template.distance(vector)
    marks.append(_clocks())
    return marks, vector, template


def _medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {k: round(statistics.median(v), 3) for k, v in times.items() if v}


def _bare_invokes(pipe: Pipeline, frame: np.ndarray, photo: np.ndarray
                  ) -> dict[str, Callable[[], object]]:
    """Each model's set_tensor + invoke alone, on the input its stage makes for ``frame``, and
    the detect stage's own work (letterbox, decode + NMS) alone, the letterbox also of the
    frame's RGB twin ``photo``; empty when the frame has no face (or the runners are not
    TFLite ones)."""
    faces = pipe.detector.detect(frame)
    detect = pipe.detector.runner
    embed = pipe.embedder.runner if pipe.embedder is not None else None
    if not faces or not isinstance(detect, TfliteRunner) or not isinstance(embed, TfliteRunner):
        return {}
    assert pipe.embedder is not None
    chip = align.chip(frame, faces[0].keypoints)
    tensor = pipe.detector.model_input(frame)
    outputs = detect.run(tensor)
    placed = detector.sampler(frame.shape[0], frame.shape[1], tensor.shape[1]).placed
    return {"detect": detect.bare_invoke(tensor),
            "embed": embed.bare_invoke(pipe.embedder.model_input(chip)),
            "letterbox": lambda: detector.letterbox_into(frame, np.empty_like(tensor[0])),
            "letterbox_rgb": lambda: detector.letterbox_into(photo, np.empty_like(tensor[0])),
            "decode": lambda: pipe.detector.faces(outputs, placed)}


def _xnnpack(pipe: Pipeline, which: str) -> dict[str, Any]:
    stage = pipe.embedder if which == "embedder" else pipe.detector
    runner = stage.runner if stage is not None else None
    if not isinstance(runner, TfliteRunner):
        return {"error": f"the {which} does not run on a TFLite runner"}
    return xnnpack_report.report(runner)


def _chips(engine: TfliteFaceEngine, frames: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The aligned chip of each photo's main face, as the device pipeline makes it."""
    found = {name: engine.pipeline.detector.detect(frame) for name, frame in frames.items()}
    return {name: align.chip(frames[name], faces[0].keypoints)
            for name, faces in found.items() if faces}


def _per_chip(versus: dict[str, Any]) -> dict[str, float | str]:
    """Median ms per chip, int8 and the float32 baseline (or why the baseline is missing)."""
    ms = versus["ms_per_chip"]
    float32 = versus["float32"]
    return {"face_embedder": ms["int8"], "float_baseline": ms.get("float32", float32)}


def _dlib_on_chips(script: Path, chips: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """dlib-bin's descriptors of exactly our chips (its embedder alone), in its own process."""
    if not script.is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, chip in chips.items():
            files.append(Path(tmp) / f"{name}.png")  # lossless: dlib sees our pixels
            Image.fromarray(chip).save(files[-1])
        proc = subprocess.run([sys.executable, str(script), "--chips", *map(str, files)],
                              capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        logger.warning("dlib reference on the chips failed: %s", proc.stderr.strip()[-300:])
        return None
    found = json.loads(proc.stdout)["descriptors"]
    return {name.removesuffix(".png"): np.asarray(v) for name, v in found.items()}


def _verify_peak_rss(models: Path, paths: list[Path]) -> dict[str, Any]:
    """Peak resident memory (MB) of a `face verify` process on one photo."""
    with tempfile.TemporaryDirectory() as tmp:
        # A scratch data dir and device id: the template is encrypted at rest with a key made
        # there, so the bench needs no provisioned unit and never touches a real one's files.
        store = ["--models", str(models), "--data-dir", tmp, "--device-id", "face-bench"]
        template = str(Path(tmp) / "template.bin")
        failures = []
        for base in _COMMANDS:
            made = subprocess.run([*base, "enroll", *store, "--out", template, str(paths[0])],
                                  capture_output=True, text=True, check=False)
            if made.returncode != 0:
                failures.append(f"{' '.join(base[1:])}: {made.stderr.strip()[-300:]}")
                continue
            # The enrolled photo again, so every stage (embed and match included) runs.
            verify = [*base, "verify", *store, "--template", template, str(paths[0])]
            measured = subprocess.run([sys.executable, "-I", "-c", _LAUNCHER, *verify],
                                      capture_output=True, text=True, check=False)
            if measured.returncode != 0:
                return {"error": f"memory launcher failed: {measured.stderr.strip()[-300:]}"}
            peak_kib, exit_code = json.loads(measured.stdout)
            return {"command": " ".join(base[1:]), "peak_rss_mb": round(peak_kib / 1024, 1),
                    "exit_code": exit_code}
    return {"error": "neither face command could enrol: " + " | ".join(failures)}


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
