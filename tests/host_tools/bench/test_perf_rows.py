"""The face and server rows of `make bench` (issue 13): each model stage against its bare
invoke, dlib's chip warp, the XNNPACK path, and the server's latency percentiles."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from host_tools.bench import benchmarks, load

FACE: dict[str, Any] = {
    "median_ms": {"detect": 2.0, "align": 0.6, "quality": 0.1, "embed": 5.0, "match": 0.02,
                  "frame": 7.8},
    "bare_invoke_ms": {"detect": 1.0, "embed": 4.8},
    "reference": {"median_ms": {"detect": 400.0, "align": 2.5, "chip": 0.9, "embed": 120.0,
                                "frame": 523.0}},
    "xnnpack": {"embedder": {"xnnpack_path": "QS8 (signed int8)", "xnnpack_partitions": 5,
                             "builtin_ops": {"AVERAGE_POOL_2D": 4}}},
    "model_bytes": {"a": 1_000_000},
}
SERVER: dict[str, Any] = {
    "server_ingest_records_per_s": 3000, "ed25519_verify_per_s_one_core": 6000,
    "backlog_records": 2000, "backlog_drain_s": 0.7, "batch_records": 256, "verify_parts": 2,
    "ingest_batch_ms_p50": 80.0, "ingest_batch_ms_p99": 95.0,
    "drain_request_ms_p50": 90.0, "drain_request_ms_p99": 120.0,
    "ingest_cpu_per_record_in_verifies": 1.5, "ingest_cores_busy": 1.8,
    "ingest_database_cpu_per_record_in_verifies": 0.2, "ed25519_verify_per_s_all_cores": 9000,
    "ed25519_verify_per_s_one_core_beside_all": 6000,
}


def _rows(monkeypatch: pytest.MonkeyPatch, section: str, data: dict[str, Any]
          ) -> dict[str, benchmarks.Row]:
    monkeypatch.setattr(benchmarks, "run_json", lambda argv, timeout=900: data)
    return {row.figure: row for row in benchmarks.SECTIONS[section](True)}


def test_each_model_stage_reads_as_a_ratio_to_its_bare_invoke(monkeypatch) -> None:
    rows = _rows(monkeypatch, "face", FACE)
    detect = rows["detect: stage vs its model's bare invoke, same input (RGBX camera frames)"]
    assert detect.ratio == pytest.approx(0.5) and detect.baseline_name.startswith("interpreter")
    assert rows["embed: stage vs its model's bare invoke, same input"].ratio == pytest.approx(0.96)
    align = rows["align (the chip alone, RGBX camera frames) vs dlib's get_face_chip alone"]
    assert align.ratio == pytest.approx(1.5)
    # the quality figures are their own stage, not counted in align
    assert rows["quality figures on the chip (brightness, sharpness, yaw)"].ours == 0.1
    xnnpack = next(r for f, r in rows.items() if f.startswith("int8 embedder: XNNPACK QS8"))
    assert "4 AVERAGE_POOL_2D" in xnnpack.figure and xnnpack.ours == 4


def test_the_detect_stage_says_what_it_spends_outside_the_model(monkeypatch) -> None:
    rows = _rows(monkeypatch, "face", {**FACE, "detect_parts_ms": {"letterbox": 0.2,
                                                                  "decode": 0.05}})
    outside = next(r for f, r in rows.items() if f.startswith("detect outside the model"))
    assert outside.ours == pytest.approx(0.25) and "letterbox 0.2 ms" in outside.figure
    assert not any(f.startswith("detect outside") for f in _rows(monkeypatch, "face", FACE))


def test_the_stages_are_also_given_in_cpu_time(monkeypatch) -> None:
    cpu = {"median_ms": {"detect": 1.5, "align": 0.4, "quality": 0.05},
           "bare_invoke_ms": {"detect": 1.2}}
    rows = _rows(monkeypatch, "face", {**FACE, "cpu": cpu})
    detect = rows["detect: stage vs its model's bare invoke, CPU time (RGBX camera frames)"]
    assert detect.ratio == pytest.approx(0.8)
    assert rows["align (the chip alone, RGBX camera frames), CPU time"].ratio == pytest.approx(2.25)
    assert rows["quality figures on the chip, CPU time"].ours == 0.05
    assert not any("embed: stage" in f and "CPU" in f for f in rows)  # no bare figure for it


def test_the_rgb_frames_figures_stand_beside_the_camera_frames_without_targets(monkeypatch
                                                                           ) -> None:
    rgb = {"median_ms": {"detect": 2.5, "align": 0.75}, "cpu_median_ms": {"detect": 2.4}}
    data = {**FACE, "rgb_frames": rgb, "detect_parts_ms": {"letterbox": 0.2, "decode": 0.05,
                                                           "letterbox_rgb": 0.3},
            "cpu": {"median_ms": {}, "bare_invoke_ms": {"detect": 1.2}}}
    rows = _rows(monkeypatch, "face", data)
    detect = rows["detect on RGB (3-byte) frames vs the bare invoke"]
    assert detect.ratio == pytest.approx(0.4) and detect.target == ""
    assert rows["detect on RGB (3-byte) frames vs the bare invoke, CPU time"].ratio == \
        pytest.approx(0.5)
    assert rows["align (the chip alone) on RGB (3-byte) frames"].ratio == pytest.approx(1.2)
    assert rows["letterbox alone on RGB (3-byte) frames"].ours == 0.3
    assert not any("RGB (3-byte)" in f for f in _rows(monkeypatch, "face", FACE))


class _Cluster:
    """Stands in for the bench's throwaway PostgreSQL cluster."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def admin(self, statement: str) -> None:
        self.statements.append(statement)

    def url(self, name: str) -> str:
        return f"postgresql://bench@127.0.0.1:1/{name}"


def _postgres(cluster: _Cluster | None) -> Any:
    @contextmanager
    def postgres() -> Iterator[tuple[_Cluster | None, str | None]]:
        yield cluster, None if cluster is not None else "no PostgreSQL binaries"
    return postgres


def test_server_rows_report_p99_latency_and_the_cores_used(monkeypatch) -> None:
    monkeypatch.setattr(load, "postgres", _postgres(None))
    rows = _rows(monkeypatch, "server", SERVER)
    rate = next(r for f, r in rows.items() if f.startswith("records verified + committed"))
    assert rate.ratio == pytest.approx(0.5) and "(SQLite; ingest p99 95.0 ms" in rate.figure
    latency = next(r for f, r in rows.items() if f.startswith("request latency p99"))
    assert latency.ours == 120.0 and "p50 90.0 ms" in latency.figure
    cpu = next(r for f, r in rows.items() if f.startswith("CPU per record"))
    assert cpu.ours == 1.5 and "1.8 of 2 cores busy" in cpu.figure
    assert "the database server's part 0.2" in cpu.figure
    both = next(r for f, r in rows.items() if f.startswith("Ed25519 verify on all 2 cores"))
    assert both.ratio == pytest.approx(1.5) and both.baseline_name == "one core"
    assert not any("PostgreSQL" in figure for figure in rows)


def test_server_rows_repeat_on_postgresql_when_a_cluster_starts(monkeypatch) -> None:
    cluster = _Cluster()
    monkeypatch.setattr(load, "postgres", _postgres(cluster))
    argvs: list[list[str]] = []
    monkeypatch.setattr(benchmarks, "run_json",
                        lambda argv, timeout=900: argvs.append(list(argv)) or SERVER)
    rows = [row.figure for row in benchmarks.SECTIONS["server"](True)]
    assert sum("PostgreSQL" in figure for figure in rows) == 5
    assert argvs[1][-2:] == ["--database", cluster.url("serverbench")]
    assert cluster.statements == ["CREATE DATABASE serverbench"]
