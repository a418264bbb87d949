"""``fieldcheck-device face checkin-bench``: stage times, liveness per frame, peak memory."""

import json
from pathlib import Path

import pytest

from firmware import cli

MODELS = Path(__file__).resolve().parents[3] / "models"


def test_every_stage_is_timed_and_the_liveness_share_follows_from_them(capsys) -> None:
    from host_tools import sample_faces

    try:
        images = sample_faces.images_dir()
    except FileNotFoundError as err:
        pytest.skip(f"sample photos unavailable: {err}")
    assert cli.main(["face", "checkin-bench", "--repeats", "1", "--images", str(images),
                     "--models", str(MODELS)]) == 0
    data = json.loads(capsys.readouterr().out)
    stages = data["median_ms"]
    assert set(stages) == {"detect", "align", "embed", "liveness", "match", "commit"}
    assert all(ms > 0 for ms in stages.values())
    frames = data["frames_per_checkin"]
    assert data["liveness_ms_per_frame"] == pytest.approx(stages["liveness"] / frames, abs=0.01)
    assert data["liveness_share_of_frame"] == pytest.approx(
        data["liveness_ms_per_frame"] / data["frame_ms"], abs=0.01)
    cpu = data["cpu"]
    assert cpu["frame_ms"] > 0 and cpu["liveness_ms_per_frame"] > 0
    assert cpu["liveness_share_of_frame"] == pytest.approx(
        cpu["liveness_ms_per_frame"] / cpu["frame_ms"], abs=0.01)
    parts = data["liveness_parts_ms_per_frame"]
    assert set(parts) == {"frozen", "landmarks", "judge"} and all(ms > 0 for ms in parts.values())
    landmark = data["landmark_parts_cpu_ms_per_frame"]
    assert set(landmark) == {"landmarks", "crop", "crop (RGB frame, before)", "invoke",
                             "input copied in by set_tensor (before)",
                             "crop_before (Pillow bilinear transform)"}
    assert all(landmark[k] > 0 for k in landmark if "set_tensor" not in k)
    assert data["frame_layout"] == "RGBX"  # as the camera gives them
    # The same bursts' RGB twins, timed in the same run, the share from their own figures.
    before = data["rgb_before"]
    assert before["frame_ms"] > 0 and before["liveness_ms_per_frame"] > 0
    assert before["liveness_share_of_frame"] == pytest.approx(
        before["liveness_ms_per_frame"] / before["frame_ms"], abs=0.01)
    assert set(before["liveness_parts_ms_per_frame"]) == set(parts)
    assert data["liveness_share_of_rgb_frame"] == pytest.approx(
        data["liveness_ms_per_frame"] / before["frame_ms"], abs=0.01)
    # The frame is timed around each engine.check: never less than its stages inside.
    inside = sum(stages[s] for s in ("detect", "align", "embed")) / frames
    assert data["frame_ms"] >= inside - 0.01
    assert data["peak_rss_mb"] >= data["rss_at_start_mb"] > 0


def test_the_bench_rows_set_the_camera_frames_against_their_rgb_twins() -> None:
    from host_tools.bench.checkin_bench import liveness_rows

    parts = {"frozen": 0.1, "landmarks": 2.0, "judge": 0.2}
    data = {"liveness_ms_per_frame": 2.5, "frame_ms": 5.0, "frame_layout": "RGBX",
            "liveness_share_of_frame": 0.5, "cpu": {"liveness_share_of_frame": 0.4},
            "liveness_share_of_rgb_frame": 0.6, "liveness_parts_ms_per_frame": parts,
            "landmark_parts_cpu_ms_per_frame": {"crop": 1.0},
            "rgb_before": {"liveness_ms_per_frame": 5.0, "frame_ms": 4.0,
                           "liveness_share_of_frame": 1.25,
                           "cpu": {"liveness_share_of_frame": 1.2},
                           "liveness_parts_ms_per_frame": {k: 2 * v for k, v in parts.items()}}}
    rows = {row.figure: row for row in liveness_rows(data)}
    assert rows["liveness per frame (RGBX frames)"].ratio == pytest.approx(2.0)
    assert rows["liveness per frame: judge"].baseline == pytest.approx(0.4)
    assert rows["liveness per frame, RGB twin frames: landmarks"].ours == pytest.approx(4.0)
    assert rows["liveness cost on top of a frame (RGBX)"].ours == pytest.approx(50.0)
    assert rows["liveness cost on top of a frame, RGB twin frames"].ours == pytest.approx(125.0)


def test_a_folder_without_the_sample_photos_is_a_clear_error(tmp_path, capsys) -> None:
    assert cli.main(["face", "checkin-bench", "--images", str(tmp_path)]) != 0
    assert "no sample photos" in capsys.readouterr().err
