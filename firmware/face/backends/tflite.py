"""The real face backend: BlazeFace + the int8 embedder on a TFLite runtime, per the manifest."""

import logging
from dataclasses import dataclass
from pathlib import Path

from firmware.core.settings import setting
from firmware.errors import VerifyError
from firmware.face import manifest
from firmware.face.backends.runner import Runtime, TfliteRunner
from firmware.face.base import FaceEngine, Frame, FrameResult
from firmware.face.pipeline import Detector, DetectorSettings, Embedder, Pipeline
from firmware.face.quality import GateSettings

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Config:
    """Settings of the ``tflite`` face backend."""

    models_dir: Path = setting(
        manifest.default_models_dir(),
        "folder with manifest.json and the .tflite files (run from a development checkout, the "
        "default is the checkout's models/)",
        shown=manifest.DEVICE_MODELS,
    )
    runtime: Runtime = setting(
        "auto", "auto (LiteRT, else tflite_runtime), ai_edge_litert or tflite_runtime"
    )
    num_threads: int = setting(1, "CPU threads per model")
    embedder: str = setting(manifest.EMBEDDER, "manifest key of the embedding model")
    threshold: float | None = setting(None, "decision distance; default: the manifest's threshold")
    detector: DetectorSettings = setting(DetectorSettings(), "face detector decoding")
    gates: GateSettings = setting(GateSettings(), "quality gate thresholds")


class TfliteFaceEngine(FaceEngine):
    """Loads and verifies both models at ``start``; ``check`` runs the pipeline."""

    def __init__(self, config: Config, need_embedder: bool = True) -> None:
        self.config = config
        self.need_embedder = need_embedder
        self.describe = f"tflite face engine ({config.models_dir})"
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        """The loaded pipeline; the engine must be started."""
        if self._pipeline is None:
            raise VerifyError("face engine used before start()", "call start() first")
        return self._pipeline

    def _start(self) -> None:
        bundle = manifest.load(self.config.models_dir)
        cfg = self.config
        spec = bundle.model(manifest.DETECTOR)
        find = Detector(TfliteRunner(spec, cfg.num_threads, cfg.runtime), spec, cfg.detector)
        embedder = None
        if self.need_embedder or cfg.embedder in bundle.models:
            espec = bundle.model(cfg.embedder)
            embedder = Embedder(TfliteRunner(espec, cfg.num_threads, cfg.runtime), espec)
            self.model_sha256 = espec.sha256
            self.model_version = espec.version
            self.threshold = _threshold(cfg.threshold, espec.extra.get("threshold"))
        self._pipeline = Pipeline(find, embedder, cfg.gates)
        logger.info("face engine ready: %s", self.describe)

    def _stop(self) -> None:
        self._pipeline = None

    def check(self, frame: Frame) -> FrameResult:
        """Run one frame through the device pipeline."""
        return self.pipeline.check(frame)

    def check_ungated(self, frame: Frame) -> FrameResult:
        """Embed the main face whatever the quality gates say (evaluation on photo sets)."""
        return self.pipeline.check(frame, gated=False)


def _threshold(configured: float | None, from_manifest: object) -> float:
    if configured is not None:
        return configured
    if not isinstance(from_manifest, int | float):
        raise VerifyError("the embedder's manifest entry has no threshold",
                          "reinstall the model bundle or set [face] threshold")
    return float(from_manifest)


def create(config: Config) -> TfliteFaceEngine:
    """Build the engine (models load at ``start``)."""
    return TfliteFaceEngine(config)
