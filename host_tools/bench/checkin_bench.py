"""Bench section ``checkin``: a check-in's stages, the liveness cost per frame, peak memory.

Runs ``fieldcheck-device face checkin-bench`` (the real models in a firmware process) and turns
its JSON into rows, then runs the real daemon through one check-in on the bench's simulated
parts (``daemon_memory``) for its memory at rest and its peak.
"""

from typing import Any

from host_tools.bench import daemon_memory
from host_tools.bench.benchmarks import Row, run_json
from host_tools.bench.processes import python_module


def checkin(quick: bool) -> list[Row]:
    """Median milliseconds per stage, liveness per frame against a frame, peak memory."""
    data = run_json(python_module("firmware", "face", "checkin-bench",
                                  "--repeats", "2" if quick else "5"))
    frames = data["frames_per_checkin"]
    rows = [Row("checkin", f"{stage} ({frames} frames, median)", float(ms), "ms")
            for stage, ms in data["median_ms"].items()]
    rows += liveness_rows(data)
    rows.append(Row("checkin", "peak memory of a check-in process", float(data["peak_rss_mb"]),
                    "MB", target="< 200 MB"))
    rows.append(Row("checkin", "memory of that process before the models load",
                    float(data["rss_at_start_mb"]), "MB"))
    return rows + daemon_rows(daemon_memory.measure())


def liveness_rows(data: dict[str, Any]) -> list[Row]:
    """Liveness per frame on the camera's RGBX frames (against the same burst's RGB twin,
    timed in the same run), its parts, and its share of a face frame."""
    before = data["rgb_before"]
    layout = data.get("frame_layout", "RGBX")
    twin = "RGB twin frames, same run"
    rows = [Row("checkin", f"liveness per frame ({layout} frames)",
                float(data["liveness_ms_per_frame"]), "ms",
                float(before["liveness_ms_per_frame"]), twin)]
    rows += [Row("checkin", f"liveness per frame: {part}", float(ms), "ms",
                 float(before["liveness_parts_ms_per_frame"][part]), twin)
             for part, ms in data["liveness_parts_ms_per_frame"].items()]
    rows += [Row("checkin", f"liveness per frame, landmarks (CPU): {part}", float(ms), "ms")
             for part, ms in data["landmark_parts_cpu_ms_per_frame"].items()]
    rows.append(Row("checkin", "liveness per frame, RGB twin frames",
                    float(before["liveness_ms_per_frame"]), "ms"))
    rows += [Row("checkin", f"liveness per frame, RGB twin frames: {part}", float(ms), "ms")
             for part, ms in before["liveness_parts_ms_per_frame"].items()]
    rows.append(Row("checkin", f"face pipeline per frame ({layout} frames)",
                    float(data["frame_ms"]), "ms"))
    rows.append(Row("checkin", "face pipeline per frame, RGB frames", float(before["frame_ms"]),
                    "ms"))
    for name, share, target in (
            (f"liveness cost on top of a frame ({layout})", data["liveness_share_of_frame"],
             "<= 30 %"),
            (f"liveness cost on top of a frame ({layout}, CPU time)",
             data["cpu"]["liveness_share_of_frame"], "<= 30 %"),
            (f"liveness cost on top of a frame ({layout} liveness, RGB frame)",
             data["liveness_share_of_rgb_frame"], "<= 30 %"),
            ("liveness cost on top of a frame, RGB twin frames",
             before["liveness_share_of_frame"], ""),
            ("liveness cost on top of a frame, RGB twin frames, CPU time",
             before["cpu"]["liveness_share_of_frame"], "")):
        rows.append(Row("checkin", name, 100.0 * float(share), "%", target=target))
    return rows


def daemon_rows(daemon: dict[str, Any]) -> list[Row]:
    """The daemon's own figures (``/proc/PID/status``) as rows."""
    return [
        Row("checkin", "daemon peak memory through a check-in (VmHWM)",
            float(daemon["peak_mb"]), "MB", target="< 200 MB"),
        Row("checkin", "daemon at rest before its first check-in (VmRSS)",
            float(daemon["rest_before_mb"]), "MB"),
        Row("checkin", "daemon at rest after a check-in (VmRSS)",
            float(daemon["rest_after_mb"]), "MB"),
    ]
