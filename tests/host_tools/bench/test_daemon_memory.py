"""The daemon memory figures: the real ``fieldcheck-device run`` through one check-in."""

import os

import numpy as np
from PIL import Image

from host_tools import sample_faces
from host_tools.bench import daemon_memory
from host_tools.bench.checkin_bench import daemon_rows


def test_status_reads_this_process_resident_memory() -> None:
    figures = daemon_memory._status_mb(os.getpid())  # noqa: SLF001
    assert set(figures) == {"VmRSS", "VmHWM"}
    assert 0 < figures["VmRSS"] <= figures["VmHWM"]


def test_the_staged_burst_is_camera_sized_and_never_one_frame_repeated(tmp_path) -> None:
    folder = tmp_path / "camera"
    daemon_memory._stage_frames(sample_faces.images_dir() / "obama.jpg", folder)  # noqa: SLF001
    frames = [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]
    assert len(frames) == daemon_memory.BURST_FRAMES
    assert frames[0].shape == (daemon_memory.FRAME_SIZE[1], daemon_memory.FRAME_SIZE[0], 3)
    assert all(np.any(a != b) for a, b in zip(frames, frames[1:], strict=False))


def test_the_daemon_is_measured_through_a_real_check_in() -> None:
    figures = daemon_memory.measure()
    assert figures["outcome"] in ("match", "no_match", "liveness_failed", "unknown")
    assert 0 < figures["rest_before_mb"] <= figures["peak_mb"]
    assert 0 < figures["rest_after_mb"] <= figures["peak_mb"]
    rows = daemon_rows(figures)
    assert [r.ours for r in rows] == [figures["peak_mb"], figures["rest_before_mb"],
                                      figures["rest_after_mb"]]
