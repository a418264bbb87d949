"""Check-in figures on the real models: time per stage from detection to commit, the liveness
cost per frame, and this process's peak memory.

One check-in is replayed stage by stage with the parts the daemon uses: a burst of a sample
photo with fresh sensor noise per frame (the camera's own capture time is not measured), the
TFLite face engine, the face landmarks and the liveness checks, the template match, and one
signed record committed to a real SQLite store in a temporary data dir. Peak memory is this
process's (``ru_maxrss``) holding the same parts as the daemon's check-in thread; the daemon's
own peak needs measuring on a unit.
"""

import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import Kind
from firmware.camera.base import Burst, Frame
from firmware.face import liveness
from firmware.face.backends.landmarks_tflite import TfliteLandmarks
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.face.liveness import Challenge, LivenessSettings
from firmware.services.ledger import Ledger
from firmware.store.backends.sqlite import Config as StoreConfig
from firmware.store.backends.sqlite import create as create_store
from firmware.store.identity import create_identity

#: Capture is the camera's own time (frames / frame rate on a unit); here frames are replayed.
STAGES = ("detect", "align", "embed", "liveness", "match", "commit")


def _burst(source: Frame, frames: int, rng: np.random.Generator) -> Burst:
    started = time.monotonic()
    base = source.astype(np.int16)
    noisy = tuple(np.clip(base + rng.integers(-3, 4, source.shape, dtype=np.int16), 0, 255)
                  .astype(np.uint8) for _ in range(frames))
    return Burst(noisy, tuple(started + i / 15 for i in range(frames)))


def run(models_dir: Path, photos: list[Frame], repeats: int,
        frames: int = LivenessSettings().frames) -> dict[str, Any]:
    """Median seconds per stage of ``repeats`` check-ins, liveness per frame, peak memory."""
    rss_rest = _peak_rss_mb()
    engine = TfliteFaceEngine(Config(models_dir=models_dir))
    engine.start()
    landmarks = TfliteLandmarks(models_dir)
    landmarks.start()
    template = engine.enroll(photos[:2])
    rng = np.random.default_rng(0)
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    with tempfile.TemporaryDirectory(prefix="fieldcheck-checkin-bench-") as tmp:
        data = Path(tmp)
        identity = create_identity(data)
        store = create_store(StoreConfig(), data_dir=data, identity=identity,
                             clock=SystemClock())
        store.start_and_check()
        ledger = Ledger(store, identity, SystemClock())
        try:
            for _ in range(repeats):
                _one(photos[-1], frames, rng, (engine, landmarks), template, ledger, timings)
        finally:
            store.stop()
    landmarks.stop()
    engine.stop()
    median = {stage: statistics.median(values) * 1000 for stage, values in timings.items()}
    frame_ms = sum(median[s] for s in ("detect", "align", "embed")) / frames
    live_ms = median["liveness"] / frames
    return {
        "frames_per_checkin": frames, "repeats": repeats,
        "median_ms": {k: round(v, 2) for k, v in median.items()},
        "frame_ms": round(frame_ms, 2), "liveness_ms_per_frame": round(live_ms, 2),
        "liveness_share_of_frame": round(live_ms / frame_ms, 3) if frame_ms else None,
        "peak_rss_mb": round(_peak_rss_mb(), 1), "rss_at_start_mb": round(rss_rest, 1),
    }


def _one(source: Frame, frames: int, rng: np.random.Generator,
         parts: tuple[TfliteFaceEngine, TfliteLandmarks], template: Any, ledger: Ledger,
         timings: dict[str, list[float]]) -> None:
    engine, landmarks = parts
    burst = _burst(source, frames, rng)
    results = [engine.check(frame) for frame in burst.frames]
    for stage in ("detect", "align", "embed"):
        timings[stage].append(sum(r.timings.get(stage, 0.0) for r in results))
    t1 = time.perf_counter()
    tracks = landmarks.burst_points(burst.frames)
    embeddings = [r.embedding for r in results if r.embedding is not None]
    verdict = liveness.judge(Challenge.BLINK, tracks, embeddings, LivenessSettings())
    t2 = time.perf_counter()
    timings["liveness"].append(t2 - t1)
    distances = [template.distance(e) for e in embeddings]
    t3 = time.perf_counter()
    timings["match"].append(t3 - t2)
    outcome = "match" if distances and np.median(distances) < engine.threshold else "no_match"
    body = {"verdict": outcome if verdict.passed else "liveness_failed", "trigger": "manual"}
    ledger.write(Kind.CHECKIN, body)
    timings["commit"].append(time.perf_counter() - t3)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
