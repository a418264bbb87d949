"""Replay face backend for the bench: answers recorded frames with their recorded results.

A recording maps each frame's pixel hash to what the real engine said about it (guidance,
quality, embedding). `fieldcheck-device face record` writes one from image files; the replay
camera then feeds the same images and the whole check-in flow runs without a model or runtime.
Recordings hold embeddings: keep them on bench machines, owner-only (written 0600).
"""

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware.core.settings import setting
from firmware.core.verdict import Guidance, Quality
from firmware.errors import VerifyError
from firmware.face.base import FaceEngine, Frame, FrameResult

FORMAT = "fieldcheck-face-recording/1"


@dataclass(frozen=True)
class Config:
    """Settings of the ``replay`` face backend."""

    recording: Path = setting(Path("face-recording.json"), "recording written by `face record`")


def frame_key(frame: Frame) -> str:
    """Hash of a frame's size and colours, the recording's lookup key.

    Only the colours count: the camera's RGBX frame (its fourth byte unused) has the key of
    the RGB image file it was made from, so a recording made from files (`face record`)
    answers the replay camera's frames. RGB frames keep the keys they always had.
    """
    colours = frame[..., :3] if frame.ndim == 3 and frame.shape[2] == 4 else frame
    digest = hashlib.sha256(repr(colours.shape).encode())
    digest.update(np.ascontiguousarray(colours).tobytes())
    return digest.hexdigest()


class ReplayFaceEngine(FaceEngine):
    """Looks each frame up in the recording; an unrecorded frame is a VerifyError."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.describe = f"replay face engine ({config.recording})"
        self._frames: dict[str, Any] = {}

    def _start(self) -> None:
        try:
            data = json.loads(self.config.recording.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise VerifyError(f"face recording {self.config.recording} unreadable: {err}",
                              "write one with `fieldcheck-device face record`") from err
        if data.get("format") != FORMAT:
            raise VerifyError(f"{self.config.recording} is not a {FORMAT} file",
                              "write one with `fieldcheck-device face record`")
        self.threshold = float(data["threshold"])
        self.model_sha256 = str(data["model_sha256"])
        self.model_version = str(data["model_version"])
        self._frames = dict(data["frames"])

    def _stop(self) -> None:
        self._frames = {}

    def check(self, frame: Frame) -> FrameResult:
        """The recorded result for this exact frame."""
        entry = self._frames.get(frame_key(frame))
        if entry is None:
            raise VerifyError("frame not in the face recording",
                              "record the images the replay camera serves with `face record`")
        quality = Quality(**entry["quality"]) if entry["quality"] else None
        guidance = Guidance(entry["guidance"]) if entry["guidance"] else None
        embedding = entry["embedding"]
        vector = None if embedding is None else np.asarray(embedding, dtype=np.float32)
        return FrameResult(guidance=guidance, quality=quality, embedding=vector)


def record(engine: FaceEngine, frames: Iterable[Frame], path: Path) -> int:
    """Run ``engine`` on ``frames`` and write a recording (mode 0600); returns frames written."""
    entries: dict[str, Any] = {}
    for frame in frames:
        result = engine.check(frame)
        entries[frame_key(frame)] = {
            "guidance": result.guidance.value if result.guidance else None,
            "quality": dataclasses.asdict(result.quality) if result.quality else None,
            "embedding": None if result.embedding is None else [float(v) for v in result.embedding],
        }
    data = {
        "format": FORMAT,
        "threshold": engine.threshold,
        "model_sha256": engine.model_sha256,
        "model_version": engine.model_version,
        "frames": entries,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return len(entries)


def create(config: Config) -> ReplayFaceEngine:
    """Build the replay engine (the recording loads at ``start``)."""
    return ReplayFaceEngine(config)
