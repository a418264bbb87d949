"""The embedder's float32 twin (build cache, never shipped) timed and compared against int8."""

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from firmware.errors import VerifyError
from firmware.face import manifest
from firmware.face.backends.runner import TfliteRunner
from firmware.face.pipeline import Embedder

KEY = "face_embedder_float32"
#: Written by models/build_float.py (``make bench-models``, also ``make models``).
SIDECAR = f"{KEY}.json"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".cache" / "models"
BUILD = ("`make bench-models` in the checkout (float32 conversion in .venv-build with "
         "TensorFlow; installing that venv takes minutes the first time)")
REBUILD = "`make -B bench-models` in the checkout"
#: Fields the twin's sidecar copies from the int8 entry: the comparison needs them equal.
_SHARED = ("source", "normalisation")

Chips = Mapping[str, NDArray[np.uint8]]


@dataclass(frozen=True)
class Twin:
    """The float32 embedder, loaded and verified, or ``problem``: what is wrong, what to run."""

    embedder: Embedder | None
    spec: manifest.ModelSpec | None
    problem: str


def load(folder: Path, int8: manifest.ModelSpec) -> Twin:
    """Load and verify (sha256, size, tensors) the twin in ``folder`` against the int8 entry."""
    model = folder / f"{KEY}.tflite"
    if not (folder / SIDECAR).is_file() or not model.is_file():
        return Twin(None, None, f"no float32 model at {model}: create it with {BUILD}")
    try:
        spec = manifest.load(folder, SIDECAR).model(KEY)
    except VerifyError as err:
        return Twin(None, None, f"{model} is unusable ({err}): rebuild it with {REBUILD}")
    differs = [f for f in _SHARED if spec.extra.get(f) != int8.extra.get(f)]
    if differs:
        return Twin(None, spec, f"{model} was made from another network than the int8 model "
                    f"({' and '.join(differs)} differ): rebuild it with {REBUILD}")
    try:
        embedder = Embedder(TfliteRunner(spec, num_threads=1), spec)
    except VerifyError as err:
        return Twin(None, spec, f"{model} is unusable ({err}): rebuild it with {REBUILD}")
    return Twin(embedder, spec, "")


def time_embedders(embedders: Mapping[str, Embedder], chips: Chips, repeats: int
                   ) -> tuple[dict[str, float], dict[str, dict[str, NDArray[np.float32]]]]:
    """Median ms per chip of each embedder, runs interleaved so machine noise hits all alike."""
    runs: dict[str, list[float]] = {kind: [] for kind in embedders}
    vectors: dict[str, dict[str, NDArray[np.float32]]] = {kind: {} for kind in embedders}
    first = next(iter(chips.values()))
    for embedder in embedders.values():
        embedder.embed(first)  # the first invoke allocates and packs weights: keep it out
    for _ in range(repeats):
        for name, chip in chips.items():
            for kind, embedder in embedders.items():
                start = time.perf_counter()
                vectors[kind][name] = embedder.embed(chip)
                runs[kind].append((time.perf_counter() - start) * 1000)
    return {k: round(statistics.median(v), 3) for k, v in runs.items()}, vectors


def cosines(a: Mapping[str, NDArray[Any]], b: Mapping[str, NDArray[Any]]) -> dict[str, float]:
    """Count, min and mean cosine similarity over the chips both sides have."""
    names = sorted(set(a) & set(b))
    values = [float(np.dot(a[n], b[n]) / (np.linalg.norm(a[n]) * np.linalg.norm(b[n])))
              for n in names]
    if not values:
        return {}
    # Eight decimals: float32 against dlib agrees beyond the sixth.
    return {"chips": len(values), "min": round(min(values), 8),
            "mean": round(statistics.fmean(values), 8)}


def compare(int8: manifest.ModelSpec, chips: Chips, repeats: int, folder: Path,
            dlib: Mapping[str, NDArray[Any]] | None) -> dict[str, Any]:
    """int8 (always) and the float32 twin (when built) on the same chips: ms and agreement.

    ``ms_per_chip`` has no ``float32`` key when the twin is missing or stale; ``float32`` then
    says why and which command builds it.
    """
    if not chips:
        raise VerifyError("no face found in the sample photos", "check the --images folder")
    runner = TfliteRunner(int8, num_threads=1)
    embedders = {"int8": Embedder(runner, int8)}
    twin = load(folder, int8)
    if twin.embedder is not None:
        embedders["float32"] = twin.embedder
    ms, vectors = time_embedders(embedders, chips, max(repeats, 3))
    out: dict[str, Any] = {"runtime": f"{runner.runtime}, 1 thread", "chips": len(chips),
                           "ms_per_chip": ms}
    if twin.spec is None or twin.embedder is None:
        out["float32"] = twin.problem
    else:
        out["float32"] = {"path": str(twin.spec.path), "sha256": twin.spec.sha256,
                          "bytes": twin.spec.size}
        out["int8_speedup"] = round(ms["float32"] / ms["int8"], 2)
    sides: dict[str, Mapping[str, NDArray[Any]]] = dict(vectors)
    if dlib is not None:
        sides["dlib"] = dlib
    out["cosine"] = {f"{a}_vs_{b}": cosines(sides[a], sides[b])
                     for a, b in (("float32", "int8"), ("float32", "dlib"), ("int8", "dlib"))
                     if a in sides and b in sides}
    return out
