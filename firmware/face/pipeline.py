"""The device pipeline on model runners: detect -> align -> quality gates -> embed."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from firmware.core.settings import setting
from firmware.errors import VerifyError
from firmware.face import align, detector, quality
from firmware.face.base import Frame, FrameResult, ModelRunner
from firmware.face.manifest import ModelSpec


@dataclass(frozen=True)
class DetectorSettings:
    """Detector decoding settings; ``None`` takes the manifest's value."""

    min_score: float | None = setting(None, "least face score (0-1); default from the manifest")
    nms_iou: float | None = setting(None, "overlap above which boxes merge; default from manifest")
    score_clip: float = setting(100.0, "logits are clipped to +-this before the sigmoid")


class FillingRunner(ModelRunner, Protocol):
    """A runner that also lets the caller write the input in place (the detector's path)."""

    def run_filled(
        self, fill: Callable[[NDArray[np.float32]], object]
    ) -> list[NDArray[np.float32]]:
        """Run once on the (H, W, C) float input ``fill`` writes."""
        ...


@runtime_checkable
class CodingRunner(ModelRunner, Protocol):
    """A runner that also takes its input already coded (quantised) in place (the embedder's
    path: a chip's bytes are turned into the model's input codes by one table look-up)."""

    def input_codes(self, tensor: NDArray[np.float32]) -> NDArray[Any]:
        """``tensor`` as the model's input tensor holds it."""
        ...

    def run_coded(self, fill: Callable[[NDArray[Any]], object]) -> list[NDArray[np.float32]]:
        """Run once on the (H, W, C) coded input ``fill`` writes."""
        ...


class Detector:
    """BlazeFace on a runner: frame in, faces (best first) in frame pixels out."""

    def __init__(self, runner: FillingRunner, spec: ModelSpec, settings: DetectorSettings) -> None:
        decoding: Mapping[str, Any] = spec.extra.get("decoding", {})
        try:
            layout = detector.AnchorSpec.parse(spec.extra["anchors"])
        except (KeyError, TypeError, ValueError) as err:
            raise VerifyError(f"manifest {spec.key} has no usable anchors table ({err!r})",
                              "reinstall the model bundle") from err
        self._runner = runner
        self._size = layout.input_size
        self._anchors = detector.anchors(layout)
        self._min_score = _pick(settings.min_score, decoding.get("min_score"), 0.5)
        self._nms_iou = _pick(settings.nms_iou, decoding.get("nms_iou"), 0.3)
        self._clip = settings.score_clip

    @property
    def runner(self) -> FillingRunner:
        """The model runner (the bench times its bare invoke)."""
        return self._runner

    def model_input(self, frame: Frame) -> NDArray[np.float32]:
        """The letterboxed input tensor the model sees for ``frame``."""
        return detector.letterbox(frame, self._size)[0]

    def detect(self, frame: Frame) -> list[detector.Detection]:
        """Every face found, best score first."""
        box = detector.sampler(frame.shape[0], frame.shape[1], self._size).placed
        outputs = self._runner.run_filled(lambda buffer: detector.letterbox_into(frame, buffer))
        return self.faces(outputs, box)

    def faces(self, outputs: list[NDArray[np.float32]], placed: detector.Letterbox
              ) -> list[detector.Detection]:
        """The faces in the model's outputs for a frame letterboxed as ``placed``, best first."""
        found = detector.decode(
            outputs[0], outputs[1], self._anchors, self._size, self._min_score, self._clip
        )
        return detector.to_frame(detector.weighted_nms(found, self._nms_iou), placed)


class Embedder:
    """The face-embedding model on a runner: aligned chip in, 128-d embedding out."""

    def __init__(self, runner: ModelRunner, spec: ModelSpec) -> None:
        norm: Mapping[str, Any] = spec.extra.get("normalisation", {})
        if norm.get("layout", "RGB") != "RGB":
            raise VerifyError(f"manifest {spec.key}: unsupported layout {norm.get('layout')!r}",
                              "install a model bundle made for this firmware")
        self._runner = runner
        self._mean = np.asarray(norm.get("mean_rgb", (122.782, 117.001, 104.298)), np.float32)
        self._divisor = float(norm.get("divisor", 256.0))
        self._chip_shape = tuple(spec.inputs[0].shape[1:]) if spec.inputs else ()
        #: Each chip row's bytes plus these give their entries in the code table.
        self._channel_rows = np.tile(np.arange(3, dtype=np.uint16) * 256,
                                     self._chip_shape[1] if len(self._chip_shape) == 3 else 0)
        self._coding = runner if isinstance(runner, CodingRunner) else None
        self._codes = self._code_table(self._coding) if self._coding is not None else None

    @property
    def runner(self) -> ModelRunner:
        """The model runner (the bench times its bare invoke)."""
        return self._runner

    def model_input(self, face_chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The normalised (1, 150, 150, 3) tensor the model sees for a chip."""
        tensor = (face_chip.astype(np.float32) - self._mean) / self._divisor
        return tensor[None]

    def embed(self, face_chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The embedding of one aligned 150x150 RGB chip.

        On a runner that takes coded input, each byte of the chip becomes its input code by
        one look-up in a table of all 3 x 256 (channel, level) pairs, made once by the very
        normalising and quantising expressions :meth:`model_input` and the runner apply (the
        same codes, bit for bit), written straight into the interpreter's input buffer.
        """
        coding, codes = self._coding, self._codes
        if (coding is None or codes is None or face_chip.dtype != np.uint8
                or face_chip.shape != self._chip_shape):
            outputs = self._runner.run(self.model_input(face_chip))  # the runtime judges it
        else:
            # channel * 256 + level, added a row at a time: a 3-long inner loop is numpy's slow
            # case (broadcasting (0, 256, 512) over the pixels cost more than the look-up)
            rows = np.add(face_chip.reshape(face_chip.shape[0], -1), self._channel_rows,
                          dtype=np.uint16)
            index = rows.reshape(face_chip.shape)
            outputs = coding.run_coded(
                lambda buffer: np.take(codes, index, out=buffer, mode="clip"))
        return outputs[0].reshape(-1).astype(np.float32)

    def _code_table(self, coding: CodingRunner) -> NDArray[Any]:
        """The input code of every (channel, level): entry ``channel * 256 + level``."""
        levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)
        coded = coding.input_codes(self.model_input(levels))  # (1, 256, 1, 3)
        return np.ascontiguousarray(coded.reshape(256, 3).T).reshape(-1)


class Pipeline:
    """One frame through detection, alignment, the gates and (if given) the embedder."""

    def __init__(self, find: Detector, embedder: Embedder | None,
                 gates: quality.GateSettings) -> None:
        self.detector = find
        self.embedder = embedder
        self.gates = gates

    def check(self, frame: Frame, gated: bool = True) -> FrameResult:
        """Gate the RGB or RGBX frame; embed its face when it passes and an embedder is loaded.

        ``gated=False`` embeds the main face of any frame with a face (for evaluating photo
        sets whose framing differs from the device camera's); the failed gate is still reported.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        faces = self.detector.detect(frame)
        t1 = time.perf_counter()
        timings["detect"] = t1 - t0
        failure = quality.first_failure(faces, frame.shape, None, self.gates)
        if not faces:  # say what the wearer can change: the light, or where they look
            failure = quality.no_face_cause(frame, self.gates)
        if failure is not None and (gated or not faces):
            return FrameResult(guidance=failure, quality=None, embedding=None, timings=timings,
                               face=faces[0] if faces else None)
        face_chip = align.chip(frame, faces[0].keypoints)
        t2 = time.perf_counter()
        timings["align"] = t2 - t1  # the chip alone: the quality figures are their own stage
        measured = quality.measure(faces, face_chip)
        t3 = time.perf_counter()
        timings["quality"] = t3 - t2
        failure = quality.first_failure(faces, frame.shape, measured, self.gates)
        if (failure is not None and gated) or self.embedder is None:
            return FrameResult(guidance=failure, quality=measured, embedding=None, timings=timings,
                               face=faces[0])
        embedding = self.embedder.embed(face_chip)
        timings["embed"] = time.perf_counter() - t3
        return FrameResult(guidance=failure, quality=measured, embedding=embedding, timings=timings,
                           face=faces[0])


def _pick(configured: float | None, from_manifest: Any, fallback: float) -> float:
    if configured is not None:
        return configured
    return float(from_manifest) if from_manifest is not None else fallback
