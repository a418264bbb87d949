"""The benchmark harness: table rendering and ratios (no speed is asserted: machines are noisy)."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from host_tools.bench import benchmarks
from host_tools.bench.benchmarks import Row, render
from host_tools.bench.cpu import machine_header, machine_summary

REPO = Path(__file__).resolve().parents[3]


def test_ratio_reads_as_times_better() -> None:
    assert Row("s", "cpu", 20.0, "us", 400.0, "naive", "lower").ratio == 20.0
    assert Row("s", "rate", 500.0, "rec/s", 1000.0, "anchor", "higher").ratio == 0.5
    assert Row("s", "alone", 3.0, "s").ratio is None


def test_render_aligns_every_row() -> None:
    text = render([Row("gps", "cpu", 18.25, "us", 350.0, "naive"), Row("face", "frame", 8.1, "ms")])
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["section", "figure", "ours"]
    assert "19.18x" in lines[2]
    assert len({len(line.rstrip()) <= len(lines[1]) for line in lines}) == 1


def test_one_real_section_prints_a_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "host_tools.bench.benchmarks", "--quick", "--only", "gps-reader"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("gps "))
    assert "pyserial readline()+pynmea2" in row and row.count(" us") == 2


def test_the_table_header_names_the_cpu_and_its_simd_flags() -> None:
    arm = machine_summary("processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid asimddp\n"
                          "Model\t: Raspberry Pi Zero 2 W Rev 1.0\n")
    assert arm["cpu"] == "Raspberry Pi Zero 2 W Rev 1.0" and arm["simd"] == ["asimd", "asimddp"]
    x86 = machine_summary("model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx avx2 fma\n")
    assert machine_header(x86).startswith("machine: AMD EPYC 7B13, ")
    assert machine_header(x86).endswith("SIMD: sse4_2 avx avx2 fma")


def test_daemon_share_is_measured_at_10_hz_and_at_1_hz_9600_baud(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 13: the daemon's CPU at rest with GPS at 1 Hz, beside the 10 Hz row, same method."""
    calls: list[tuple[list[str], int, int]] = []

    def share(argv_for: Any, seconds: float, rate: int, baud: int) -> float:
        calls.append((argv_for("/dev/pts/77", tmp_path), rate, baud))
        return 0.01 * len(calls)

    monkeypatch.setattr(benchmarks, "_share_of", share)
    rows = benchmarks.gps_daemon_share(quick=True)
    assert [r.figure for r in rows] == [
        "daemon CPU share at 10 Hz, 115200 baud", "daemon CPU share at 1 Hz, 9600 baud"]
    assert [(rate, baud) for _, rate, baud in calls] == [(10, 115200)] * 2 + [(1, 9600)] * 2
    assert "baudrate = 9600" in (tmp_path / "device.toml").read_text()  # the daemon's own config
    assert calls[3][0][-2:] == ["/dev/pts/77", "9600"]  # the naive reader at the same baud
    assert rows[1].ours == 3.0 and rows[1].baseline == 4.0
