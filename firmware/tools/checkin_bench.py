"""Check-in figures on the real models: time per stage from detection to commit, the liveness
cost per frame, and this process's peak memory.

One check-in is replayed stage by stage with the parts the daemon uses: a burst of a sample
photo framed as the unit's camera delivers it (1536x864 by default: the face's surroundings
cut to the frame's aspect and scaled to its size; RGBX, picamera2's ``XBGR8888``) with fresh
sensor noise per frame (the camera's own capture time is not measured), the TFLite face
engine, the face landmarks and the liveness checks, the template match, and one signed record
committed to a real SQLite store in a temporary data dir.

Each burst's RGB twin (the same frames, three bytes a pixel: how frames came before the camera
gave RGBX) is timed in the same repeat, in turn with it (which goes first alternates): the face
frame, the liveness stage and its parts, the landmark crop (``rgb_before``). The twin is made
after the first check-in, so the peak memory is that of a check-in on the camera's frames.

The liveness stage is the check-in's own (``LivenessCheck.live``: the frozen-burst check, the
landmarks and the judge), timed around the call as the service times it; the face pipeline's
frame is timed the same way, around each frame's ``engine.check``, on the same frames; both
also in this process's CPU time (``time.process_time``: what other processes on a shared
machine take of the cores is not counted, so the share is steadier there). The liveness
parts are then timed one by one on the same burst (a breakdown, not added in). Work done once
per burst (the judge) counts in the per-frame figure as its share per frame.

The landmarks part is broken down further in CPU time on the same frames and regions: the
crop (on the RGBX frame, and on its RGB twin), the same crop made the way it was before (one
Pillow bilinear transform of the RGB twin, timed in turn with them), the model's invoke as it
runs now (``run_filled``: the crop is written straight into the interpreter's input buffer, so
nothing is copied in and only the two small outputs are read) and the input copy that saves
(``run``, the tensor copied in by ``set_tensor`` as before, less that). Each is timed on its
own, so they need not add up to the part.

Peak memory is this process's (``ru_maxrss``) holding the same parts as the daemon's check-in
thread; the daemon's own peak needs measuring on a unit.
"""

import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import Kind
from firmware.camera.backends.picamera2 import Config as CameraConfig
from firmware.camera.base import Burst, Frame
from firmware.errors import VerifyError
from firmware.face import liveness, picture
from firmware.face.backends.landmarks_tflite import TfliteLandmarks
from firmware.face.backends.runner import TfliteRunner
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.face.base import FrameResult
from firmware.face.landmarks import LandmarkModel, Region, crop, part_bounds
from firmware.face.liveness import Challenge, LivenessSettings
from firmware.services.ledger import Ledger
from firmware.services.liveness_check import LivenessCheck
from firmware.store.backends.sqlite import Config as StoreConfig
from firmware.store.backends.sqlite import create as create_store
from firmware.store.identity import create_identity

#: Capture is the camera's own time (frames / frame rate on a unit); here frames are replayed.
STAGES = ("detect", "align", "embed", "liveness", "match", "commit")
#: The face pipeline's frames (around each ``engine.check``) and the liveness parts.
EXTRA = ("frames", "frozen", "landmarks", "judge", "frames_cpu", "liveness_cpu")
#: The landmarks part, in CPU time per frame (``landmarks_cpu`` is the part itself).
LANDMARK_PARTS = ("landmarks_cpu", "crop", "crop_rgb", "crop_before", "run_filled", "run")
#: What the RGB twin of each burst is timed for (``rgb_before``).
BEFORE = ("frames", "frames_cpu", "liveness", "liveness_cpu", "frozen", "landmarks", "judge")


def _burst(source: Frame, frames: int, rng: np.random.Generator) -> Burst:
    started = time.monotonic()
    noisy = tuple(_noisy(source, rng) for _ in range(frames))
    return Burst(noisy, tuple(started + i / 15 for i in range(frames)))


def _noisy(source: Frame, rng: np.random.Generator, band: int = 64) -> Frame:
    """The frame with fresh sensor noise in its colours (an RGBX frame's fourth byte stays),
    made a band of rows at a time (whole-frame int16 temporaries would be the bench's memory,
    not the check-in's)."""
    out = source.copy()
    for top in range(0, source.shape[0], band):
        rows = source[top:top + band, :, :3].astype(np.int16)
        rows += rng.integers(-3, 4, rows.shape, dtype=np.int16)
        out[top:top + band, :, :3] = np.clip(rows, 0, 255)
    return out


def _twin(burst: Burst) -> Burst:
    """The burst's frames as three-byte RGB (C-contiguous copies), at the same times."""
    return Burst(tuple(np.ascontiguousarray(picture.rgb(f)) for f in burst.frames),
                 burst.captured)


def run(models_dir: Path, photos: list[Frame], repeats: int,
        frames: int = LivenessSettings().frames) -> dict[str, Any]:
    """Median seconds per stage of ``repeats`` check-ins, liveness per frame, peak memory."""
    rss_rest = _peak_rss_mb()
    engine = TfliteFaceEngine(Config(models_dir=models_dir))
    engine.start()
    landmarks = TfliteLandmarks(models_dir)
    landmarks.start()
    template = engine.enroll(photos[:2])
    source = picture.rgbx(camera_frame(engine, photos[-1], CameraConfig()))
    rng = np.random.default_rng(0)
    timings: dict[str, list[float]] = {
        stage: [] for stage in STAGES + EXTRA + LANDMARK_PARTS}
    before: dict[str, list[float]] = {stage: [] for stage in BEFORE}
    check = LivenessCheck(landmarks, LivenessSettings())
    peak = 0.0
    with tempfile.TemporaryDirectory(prefix="fieldcheck-checkin-bench-") as tmp:
        data = Path(tmp)
        identity = create_identity(data)
        store = create_store(StoreConfig(), data_dir=data, identity=identity,
                             clock=SystemClock())
        store.start_and_check()
        ledger = Ledger(store, identity, SystemClock())
        try:
            for i in range(repeats):
                # One burst alive at a time (a name holding it here would keep the last
                # burst's 8 frames, 42 MB, alive while the next one is made).
                seen = _repeat(_burst(source, frames, rng), i % 2 == 1,
                               (engine, check, landmarks), template, ledger, (timings, before))
                peak = seen if i == 0 else peak  # later ones follow a twin's high water
        finally:
            store.stop()
    landmarks.stop()
    engine.stop()
    now, twins = _figures(timings, frames, repeats, source), _before_figures(before, frames)
    return now | {
        # Against the RGB twin's face frame (made just before it is timed, so its frames are
        # warmer than the camera's).
        "liveness_share_of_rgb_frame": _share(now["liveness_ms_per_frame"], twins["frame_ms"]),
        "rgb_before": twins,
        "peak_rss_mb": round(peak, 1), "rss_at_start_mb": round(rss_rest, 1)}


def _repeat(burst: Burst, rgb_first: bool,
            parts: tuple[TfliteFaceEngine, LivenessCheck, TfliteLandmarks],
            template: Any, ledger: Ledger,
            timings: tuple[dict[str, list[float]], dict[str, list[float]]]) -> float:
    """One check-in on the burst and one on its RGB twin, in the order asked, then the
    landmark parts; this process's peak memory right after the check-in on the camera's
    frames when it went first (0.0 otherwise)."""
    now, before = timings
    engine, check, landmarks = parts
    peak = 0.0
    twin = _twin(burst) if rgb_first else None
    if twin is not None:
        _before(twin, (engine, check), before)
    _, results = _one(burst, (engine, check), template, ledger, now)
    if twin is None:
        peak = _peak_rss_mb()  # before the twin exists: a check-in's own peak
        twin = _twin(burst)
        _before(twin, (engine, check), before)
    _landmark_parts(burst, twin, results, landmarks, now)
    return peak


def _before(twin: Burst, parts: tuple[TfliteFaceEngine, LivenessCheck],
            before: dict[str, list[float]]) -> None:
    """The RGB twin through the face frames and the liveness stage, timed as ``_one`` times
    them, and the liveness parts one by one."""
    engine, check = parts
    results, spent, cpu = _frames(engine, twin)
    before["frames"].append(spent)
    before["frames_cpu"].append(cpu)
    t0, c0 = time.perf_counter(), time.process_time()
    check.live(twin, results, Challenge.BLINK)
    before["liveness"].append(time.perf_counter() - t0)
    before["liveness_cpu"].append(time.process_time() - c0)
    _parts_of(twin, check, results, before)


def _frames(engine: TfliteFaceEngine, burst: Burst) -> tuple[list[FrameResult], float, float]:
    """Every frame through ``engine.check``: the results, wall-clock and CPU seconds."""
    results, spent, cpu = [], 0.0, 0.0
    for frame in burst.frames:
        t0, c0 = time.perf_counter(), time.process_time()
        results.append(engine.check(frame))
        spent, cpu = spent + time.perf_counter() - t0, cpu + time.process_time() - c0
    return results, spent, cpu


def _before_figures(before: dict[str, list[float]], frames: int) -> dict[str, Any]:
    """The RGB twins' figures per frame, as ``_figures`` gives the camera frames'."""
    per = {stage: statistics.median(values) * 1000 / frames for stage, values in before.items()}
    return {
        "frame_ms": round(per["frames"], 2), "liveness_ms_per_frame": round(per["liveness"], 2),
        "liveness_share_of_frame": _share(per["liveness"], per["frames"]),
        "cpu": {"frame_ms": round(per["frames_cpu"], 2),
                "liveness_ms_per_frame": round(per["liveness_cpu"], 2),
                "liveness_share_of_frame": _share(per["liveness_cpu"], per["frames_cpu"])},
        "liveness_parts_ms_per_frame": {
            k: round(per[k], 3) for k in ("frozen", "landmarks", "judge")},
    }


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def _figures(timings: dict[str, list[float]], frames: int, repeats: int,
             source: Frame) -> dict[str, Any]:
    median = {stage: statistics.median(values) * 1000 for stage, values in timings.items()}
    frame_ms = median["frames"] / frames
    live_ms = median["liveness"] / frames
    cpu_frame, cpu_live = median["frames_cpu"] / frames, median["liveness_cpu"] / frames
    return {
        "frames_per_checkin": frames, "repeats": repeats,
        "median_ms": {k: round(median[k], 2) for k in STAGES},
        "frame_ms": round(frame_ms, 2), "liveness_ms_per_frame": round(live_ms, 2),
        "liveness_share_of_frame": _share(live_ms, frame_ms),
        "cpu": {"frame_ms": round(cpu_frame, 2), "liveness_ms_per_frame": round(cpu_live, 2),
                "liveness_share_of_frame": _share(cpu_live, cpu_frame)},
        "liveness_parts_ms_per_frame": {
            k: round(median[k] / frames, 3) for k in ("frozen", "landmarks", "judge")},
        "landmark_parts_cpu_ms_per_frame": _landmark_figures(median, frames),
        "frame_size": [int(source.shape[1]), int(source.shape[0])],
        "frame_layout": "RGBX" if picture.is_mapped(source) else "RGB",
    }


def _landmark_figures(median: dict[str, float], frames: int) -> dict[str, float]:
    part = {k: median[k] / frames for k in LANDMARK_PARTS}
    return {"landmarks": round(part["landmarks_cpu"], 3), "crop": round(part["crop"], 3),
            "crop (RGB frame, before)": round(part["crop_rgb"], 3),
            "invoke": round(part["run_filled"], 3),
            "input copied in by set_tensor (before)": round(
                part["run"] - part["run_filled"], 3),
            "crop_before (Pillow bilinear transform)": round(part["crop_before"], 3)}


def camera_frame(engine: TfliteFaceEngine, photo: Frame, camera: CameraConfig,
                 face_widths: float = 5.0) -> Frame:
    """The photo as the camera frames a wearer: ``face_widths`` face widths wide around the
    main face, at the camera's aspect, scaled to its width x height."""
    face = engine.check(photo).face
    if face is None:
        raise VerifyError("the check-in photo has no face the engine finds",
                          "pass --images DIR whose obama3.jpg shows one face")
    x0, y0, x1, y1 = face.box
    width = face.width * face_widths
    height = width * camera.height / camera.width
    left, top = (x0 + x1 - width) / 2, (y0 + y1 - height) / 2
    picture = Image.fromarray(photo).transform(
        (camera.width, camera.height), Image.Transform.EXTENT,
        (left, top, left + width, top + height), resample=Image.Resampling.BILINEAR)
    return np.asarray(picture)


def _one(burst: Burst, parts: tuple[TfliteFaceEngine, LivenessCheck], template: Any,
         ledger: Ledger, timings: dict[str, list[float]]) -> tuple[Burst, list[FrameResult]]:
    engine, check = parts
    results, spent, cpu = _frames(engine, burst)
    timings["frames"].append(spent)
    timings["frames_cpu"].append(cpu)
    for stage in ("detect", "align", "embed"):
        timings[stage].append(sum(r.timings.get(stage, 0.0) for r in results))
    t1, c1 = time.perf_counter(), time.process_time()
    live = check.live(burst, results, Challenge.BLINK)
    t2 = time.perf_counter()
    timings["liveness_cpu"].append(time.process_time() - c1)
    timings["liveness"].append(t2 - t1)
    embeddings = [r.embedding for r in results if r.embedding is not None]
    distances = [template.distance(e) for e in embeddings]
    t3 = time.perf_counter()
    timings["match"].append(t3 - t2)
    outcome = "match" if distances and np.median(distances) < engine.threshold else "no_match"
    body = {"verdict": outcome if live.passed else "liveness_failed", "trigger": "manual"}
    ledger.write(Kind.CHECKIN, body)
    timings["commit"].append(time.perf_counter() - t3)
    _parts_of(burst, check, results, timings)
    return burst, results


def _parts_of(burst: Burst, check: LivenessCheck, results: list[FrameResult],
              timings: dict[str, list[float]]) -> None:
    """The liveness stage's parts, each timed alone on the same burst."""
    settings = check.settings
    t0 = time.perf_counter()
    liveness.frozen(burst.frames, burst.captured, settings.min_frame_change)
    t1 = time.perf_counter()
    tracks = check.landmarks.burst_points(burst.frames, [r.face for r in results])
    t2 = time.perf_counter()
    embeddings = [r.embedding for r in results if r.embedding is not None]
    liveness.judge(Challenge.BLINK, tracks, embeddings, settings)
    t3 = time.perf_counter()
    for part, seconds in (("frozen", t1 - t0), ("landmarks", t2 - t1), ("judge", t3 - t2)):
        timings[part].append(seconds)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _landmark_parts(burst: Burst, twin: Burst, results: list[FrameResult],
                    landmarks: TfliteLandmarks, timings: dict[str, list[float]]) -> None:
    """The landmarks part in CPU time, then its crop (on the frame, on its RGB twin, and the
    crop before on the twin, in turn), its run as now and as before, on the regions the
    burst's frames were read in."""
    c0 = time.process_time()
    tracks = landmarks.burst_points(burst.frames, [r.face for r in results])
    timings["landmarks_cpu"].append(time.process_time() - c0)
    model = landmarks.model
    runner = _runner(model)
    regions = [model.region(r.face, previous) for r, previous
               in zip(results, [None, *tracks[:-1]], strict=True)]
    tensor = np.zeros((1, model.size, model.size, 3), np.float32)
    spent = dict.fromkeys(("crop", "crop_rgb", "crop_before", "run_filled", "run"), 0.0)
    for i, region in enumerate(regions):
        ways = [("crop", burst.frames[i], crop), ("crop_rgb", twin.frames[i], crop),
                ("crop_before", twin.frames[i], crop_before)]
        for part, frame, fill in ways[i % 3:] + ways[:i % 3]:  # first on a frame: misses
            c1 = time.process_time()
            fill(frame, region, model.size, tensor[0])
            spent[part] += time.process_time() - c1
        runs: list[tuple[str, Callable[[], object]]] = [
            ("run_filled", lambda: runner.run_filled(_as_filled)),  # the input in place
            ("run", lambda: runner.run(tensor))]  # as before: copied in by set_tensor
        for part, call in runs if i % 2 else runs[::-1]:
            c2 = time.process_time()
            call()
            spent[part] += time.process_time() - c2
    for part, seconds in spent.items():
        timings[part].append(seconds)


def _as_filled(buffer: np.ndarray) -> None:
    """A fill that leaves the interpreter's input buffer as the last crop wrote it."""


def _runner(model: LandmarkModel) -> TfliteRunner:
    """The model's TFLite runner (the parts are timed on its calls)."""
    runner = model.runner
    if not isinstance(runner, TfliteRunner):
        raise VerifyError("the checkin bench times TFLite runners only", "use the tflite backend")
    return runner


def crop_before(frame: Frame, region: Region, size: int,
                out: np.ndarray) -> np.ndarray:
    """The landmark crop as it was before (one Pillow bilinear EXTENT transform of the part
    of the frame under the region), kept here only to time it beside today's crop."""
    bounds = part_bounds(frame, region)
    if bounds is None:
        out.fill(0.0)
        return out
    left, top, right, bottom = bounds
    box = (region.x0 - left, region.y0 - top, region.x0 - left + region.side,
           region.y0 - top + region.side)
    picture = Image.fromarray(np.ascontiguousarray(frame[top:bottom, left:right])).transform(
        (size, size), Image.Transform.EXTENT, box, resample=Image.Resampling.BILINEAR)
    np.multiply(np.asarray(picture), np.float32(1.0 / 255.0), out=out, dtype=np.float32)
    return out
