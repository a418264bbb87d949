"""The self-test's model checks: every file against its manifest sha256, and a known answer.

The known answer (``known_answer.json`` beside ``manifest.json``, written by
``models/build_known_answer.py``) is the embedding the embedder gives for a synthetic chip that
the firmware draws itself (:func:`pattern_chip`): a wrong runtime, a damaged model or a broken
delegate gives another vector, which a sha256 alone would not reveal.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from firmware.errors import VerifyError
from firmware.face import manifest
from firmware.services.selftest import Details, Finding, Probe

logger = logging.getLogger(__name__)

ANSWER_FILE = "known_answer.json"
FORMAT = "fieldcheck-known-answer/1"
_REINSTALL = "reinstall the model bundle (`fieldcheck-device update install FILE`)"

#: Embeds one aligned 150x150 RGB chip with the model ``spec`` names.
EmbedderFactory = Callable[[manifest.ModelSpec], Callable[[NDArray[np.uint8]], NDArray[np.float32]]]


def pattern_chip(size: int = 150) -> NDArray[np.uint8]:
    """The known-answer chip: integer arithmetic only, so every machine draws the same pixels."""
    y, x = np.mgrid[0:size, 0:size].astype(np.int64)
    red = (x * 7 + y * 3) % 256
    green = (((x - size // 2) ** 2 + (y - size // 2) ** 2) // 23) % 256
    blue = (x * y // 59 + 40) % 256
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def files_probe(models_dir: Path) -> Probe:
    """Every model in the manifest read and checked against its size and sha256."""

    def run() -> Finding:
        bundle = manifest.load(models_dir)
        for spec in bundle.models.values():
            manifest.verify_file(spec)
        embedder = bundle.models.get(manifest.EMBEDDER)
        return Finding(True, f"{len(bundle.models)} model(s) in {models_dir} match the manifest",
                       facts={"models": len(bundle.models),
                              "sha256": None if embedder is None else embedder.sha256})

    return run


def known_answer_probe(models_dir: Path, factory: EmbedderFactory) -> Probe:
    """The embedder's output for :func:`pattern_chip` within the recorded distance."""

    def run() -> Finding:
        spec = manifest.load(models_dir).model(manifest.EMBEDDER)
        answer = _load_answer(models_dir / ANSWER_FILE)
        if answer.embedder_sha256 != spec.sha256:
            raise VerifyError(f"{ANSWER_FILE} is for embedder {answer.embedder_sha256[:12]}.."
                              f", the manifest names {spec.sha256[:12]}..", _REINSTALL)
        expected = np.asarray(answer.embedding, np.float32)
        got = factory(spec)(pattern_chip())
        distance = float(np.linalg.norm(got - expected)) if got.shape == expected.shape else -1.0
        limit = answer.max_distance
        facts: Details = {"distance": round(distance, 4), "limit": limit}
        if not 0 <= distance <= limit:
            return Finding(False, f"embedding off the known answer by {distance:.4f} "
                           f"(limit {limit:g})", "the runtime or the model is broken: "
                           + _REINSTALL, facts)
        return Finding(True, f"known answer within {distance:.4f} (limit {limit:g})",
                       facts=facts)

    return run


@dataclass(frozen=True)
class KnownAnswer:
    """The recorded answer: for which embedder, the vector, how far a runtime may stray."""

    embedder_sha256: str
    embedding: tuple[float, ...]
    max_distance: float


def _load_answer(path: Path) -> KnownAnswer:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise VerifyError(f"no known answer at {path}", _REINSTALL) from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise VerifyError(f"known answer {path} unreadable: {err}", _REINSTALL) from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise VerifyError(f"{path} is not a {FORMAT} file", _REINSTALL)
    try:
        return KnownAnswer(str(data["embedder_sha256"]),
                           tuple(float(v) for v in data["embedding"]), float(data["max_distance"]))
    except (KeyError, TypeError, ValueError) as err:
        raise VerifyError(f"{path} is incomplete ({err!r})", _REINSTALL) from err
