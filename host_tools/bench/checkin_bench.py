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
    rows.append(Row("checkin", "liveness per frame", float(data["liveness_ms_per_frame"]), "ms"))
    rows += [Row("checkin", f"liveness per frame: {part}", float(ms), "ms")
             for part, ms in data["liveness_parts_ms_per_frame"].items()]
    rows += [Row("checkin", f"liveness per frame, landmarks (CPU): {part}", float(ms), "ms")
             for part, ms in data["landmark_parts_cpu_ms_per_frame"].items()]
    rows.append(Row("checkin", "face pipeline per frame", float(data["frame_ms"]), "ms"))
    rows.append(Row("checkin", "liveness cost on top of a frame",
                    100.0 * float(data["liveness_share_of_frame"]), "%", target="<= 30 %"))
    rows.append(Row("checkin", "liveness cost on top of a frame (CPU time)",
                    100.0 * float(data["cpu"]["liveness_share_of_frame"]), "%", target="<= 30 %"))
    rows.append(Row("checkin", "peak memory of a check-in process", float(data["peak_rss_mb"]),
                    "MB", target="< 200 MB"))
    rows.append(Row("checkin", "memory of that process before the models load",
                    float(data["rss_at_start_mb"]), "MB"))
    return rows + daemon_rows(daemon_memory.measure())


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
