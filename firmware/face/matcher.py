"""Enrolled templates: built from several embeddings, serialised, compared by distance.

The template is the mean of the raw 128-d embeddings (dlib's metric is the plain euclidean
distance of unnormalised descriptors, so the mean stays in the space the threshold was set in).
On disk it is only ever kept encrypted (``firmware.face.template_store``); this module gives
the plain bytes that get encrypted.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

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


def to_json(template: Template) -> bytes:
    """The plain serialisation that ``template_store`` encrypts (never written unencrypted)."""
    data = {
        "format": FORMAT,
        "model_sha256": template.model_sha256,
        "count": template.count,
        "spread": template.spread,
        "embedding": [float(v) for v in template.embedding],
    }
    return json.dumps(data).encode()


def digest(template: Template) -> str:
    """A short fingerprint of the template (sha256 of its plain form): names it in an
    ``enrollment`` event without revealing the embedding."""
    return hashlib.sha256(to_json(template)).hexdigest()[:32]


def from_json(plain: bytes, model_sha256: str, where: str = "template") -> Template:
    """Parse decrypted template bytes, refusing one made with another embedding model."""
    try:
        data = json.loads(plain)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise VerifyError(f"{where} holds no readable template: {err}", "enrol again") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise VerifyError(f"{where} is not a face template ({FORMAT})", "enrol the person again")
    if data.get("model_sha256") != model_sha256:
        raise VerifyError(
            f"{where} was made with another face model",
            "enrol the person again with the installed model",
        )
    try:
        embedding = np.asarray(data["embedding"], dtype=np.float32)
        return Template(embedding=embedding, count=int(data["count"]),
                        spread=float(data["spread"]), model_sha256=str(data["model_sha256"]))
    except (KeyError, TypeError, ValueError) as err:
        raise VerifyError(f"{where} is missing template fields ({err!r})", "enrol again") from err
