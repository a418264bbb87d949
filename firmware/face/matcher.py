"""Enrolled templates: built from several embeddings, stored owner-only, compared by distance.

The template is the mean of the raw 128-d embeddings (dlib's metric is the plain euclidean
distance of unnormalised descriptors, so the mean stays in the space the threshold was set in).
It is kept as a JSON file with mode 0600 for now; encryption at rest is issue 3's job and will
replace ``save``/``load`` without changing callers.
"""

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from firmware.errors import VerifyError

FORMAT = "fieldcheck-face-template/1"


@dataclass(frozen=True)
class Template:
    """The enrolled person's reference embedding and what it was made with."""

    embedding: NDArray[np.float32]
    count: int
    spread: float
    model_sha256: str

    def distance(self, embedding: NDArray[np.float32]) -> float:
        """Euclidean distance from a probe embedding to the template."""
        return float(np.linalg.norm(np.asarray(embedding, np.float32) - self.embedding))


def build(
    embeddings: Sequence[NDArray[np.float32]], model_sha256: str, threshold: float
) -> Template:
    """A template from several images of one person; refuses images that disagree.

    Every pair of enrolment embeddings must itself be a match (closer than ``threshold``), so
    a wrong photo in the set is caught at enrolment rather than at every later check-in.
    ``spread`` is the largest such pairwise distance.
    """
    if not embeddings:
        raise VerifyError("no usable face in the enrolment images", "take new, well-lit photos")
    stack = np.stack([np.asarray(e, np.float32) for e in embeddings])
    mean = stack.mean(axis=0)
    pairwise = np.linalg.norm(stack[:, None, :] - stack[None, :, :], axis=-1)
    spread = float(pairwise.max())
    if spread >= threshold:
        first, second = np.unravel_index(int(pairwise.argmax()), pairwise.shape)
        raise VerifyError(
            f"enrolment images {first + 1} and {second + 1} are {spread:.3f} apart "
            f"(threshold {threshold:.3f}): the images may not all show the same person",
            "retake the enrolment with the person alone in front of the camera",
        )
    return Template(embedding=mean, count=len(stack), spread=spread, model_sha256=model_sha256)


def save(template: Template, path: Path) -> None:
    """Write the template readable by its owner only (0600), atomically."""
    data = {
        "format": FORMAT,
        "model_sha256": template.model_sha256,
        "count": template.count,
        "spread": template.spread,
        "embedding": [float(v) for v in template.embedding],
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by umask and ignored for an existing file
    os.replace(tmp, path)


def load(path: Path, model_sha256: str) -> Template:
    """Read a template, refusing one made with another embedding model."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise VerifyError(f"no enrolled template at {path}", "enrol the person first") from err
    except (OSError, json.JSONDecodeError) as err:
        raise VerifyError(f"template {path} is unreadable: {err}", "enrol again") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise VerifyError(f"{path} is not a face template ({FORMAT})", "enrol the person again")
    if data.get("model_sha256") != model_sha256:
        raise VerifyError(
            f"template {path} was made with another face model",
            "enrol the person again with the installed model",
        )
    embedding = np.asarray(data["embedding"], dtype=np.float32)
    return Template(
        embedding=embedding,
        count=int(data["count"]),
        spread=float(data["spread"]),
        model_sha256=str(data["model_sha256"]),
    )
