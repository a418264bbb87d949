"""The real daemon's memory: ``fieldcheck-device run`` at rest and its peak through a check-in.

A throw-away unit (its own key and an enrolled wearer in a temporary data dir) runs the daemon
with the bench's simulated parts: the simulated GPS receiver and supervisor (whose script
presses the button once), a replay camera serving camera-sized frames (1536x864, fresh sensor
noise per frame, so the burst is not frozen and the liveness landmarks run) and no server. The
figures are the daemon process's own ``/proc/PID/status``: VmRSS at rest once it reports a
fix, and VmHWM (its peak resident memory, start-up included) after the check-in.
"""

import json
import queue
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from host_tools import sample_faces
from host_tools.bench.processes import Child, python_module, run_checked

FRAME_SIZE = (1536, 864)  # the picamera2 backend's default frame
BURST_FRAMES = 8  # the liveness default
PRESS_AT_S = 12  # the supervisor script's button press, seconds after the daemon starts
WAIT_S = 120.0


def measure() -> dict[str, Any]:
    """MB: the daemon at rest before the check-in, after it, and its peak (VmHWM)."""
    with tempfile.TemporaryDirectory(prefix="fieldcheck-daemon-memory-") as tmp:
        config = _unit(Path(tmp))
        daemon = Child("fieldcheck-device run", python_module(
            "firmware", "run", "--config", str(config), "--report", "-"))
        try:
            _wait_for(daemon, lambda line: line.get("t") == "fix")
            rest_before = _status_mb(daemon.proc.pid)["VmRSS"]
            checkin = _wait_for(daemon, lambda line: line.get("t") == "checkin")
            time.sleep(2.0)  # the check-in's buffers released
            after = _status_mb(daemon.proc.pid)
        finally:
            daemon.stop()
    return {"rest_before_mb": rest_before, "rest_after_mb": after["VmRSS"],
            "peak_mb": after["VmHWM"], "outcome": checkin.get("outcome", "?")}


def _unit(root: Path) -> Path:
    """A data dir with a key and an enrolled wearer, a camera folder, the daemon's config."""
    data, camera = root / "data", root / "camera"
    photos = sample_faces.images_dir()
    run_checked(python_module("firmware", "identity", "init", "--data-dir", str(data),
                              "--json"))
    run_checked(python_module("firmware", "face", "enroll", str(photos / "obama2.jpg"),
                              str(photos / "obama3.jpg"), "--data-dir", str(data)))
    _stage_frames(photos / "obama.jpg", camera)
    config = root / "device.toml"
    config.write_text(
        f'[device]\ndata_dir = "{data}"\n\n[policy]\npower = "always_on"\n\n'
        '[gps]\ntype = "sim"\ncold_ttff_s = 1.0\n\n[sync]\ntype = "null"\n\n'
        f'[supervisor]\ntype = "sim"\nscript = ["{PRESS_AT_S} button press=1 duration_ms=150"]'
        f'\n\n[camera]\ntype = "replay"\nfolder = "{camera}"\n\n[ui]\ntype = "null"\n\n'
        f"[checkin]\nburst_frames = {BURST_FRAMES}\nattempts = 1\n")
    return config


def _stage_frames(photo: Path, folder: Path) -> None:
    """The photo on a camera-sized frame, once per frame of the burst with its own noise."""
    width, height = FRAME_SIZE
    with Image.open(photo) as picture:
        face = picture.convert("RGB")
    scale = height / face.height
    face = face.resize((round(face.width * scale), height), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", FRAME_SIZE, (128, 128, 128))
    frame.paste(face, ((width - face.width) // 2, 0))
    base = np.asarray(frame, np.int16)
    rng = np.random.default_rng(3)
    folder.mkdir()
    for i in range(BURST_FRAMES):
        noisy = np.clip(base + rng.integers(-3, 4, base.shape, dtype=np.int16), 0, 255)
        Image.fromarray(noisy.astype(np.uint8)).save(folder / f"a{i}.png")


def _wait_for(daemon: Child, wanted: Any) -> dict[str, Any]:
    """The first report line ``wanted`` accepts (RuntimeError naming the daemon's stderr)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            text = daemon.lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if text is None:
            break
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and wanted(line):
            return line
    raise RuntimeError(f"the daemon never reported it: {daemon.describe_failure()}")


def _status_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (Linux)."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0]) / 1024.0  # kB
    return figures
