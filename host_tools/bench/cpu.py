"""CPU time of a running process, read from /proc (Linux), for CPU-share benchmarks."""

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Field 2 (comm) may contain spaces; the fields after the closing parenthesis are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


#: The instruction-set extensions that move the face and crypto figures (x86 and Arm names).
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni",
              "asimd", "asimddp", "i8mm")


def machine_summary(cpuinfo: str | None = None) -> dict[str, object]:
    """CPU model, core count and the SIMD flags present, from /proc/cpuinfo (Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    model, flags = "unknown", set[str]()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "Hardware") and model == "unknown":
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return {"cpu": model, "cores": os.cpu_count() or 0,
            "simd": [flag for flag in SIMD_FLAGS if flag in flags]}


def machine_header(summary: dict[str, object]) -> str:
    """One line for the top of a benchmark table: ratios move with the instruction set."""
    simd = summary["simd"]
    present = " ".join(simd) if isinstance(simd, list) and simd else "none of note"
    return f"machine: {summary['cpu']}, {summary['cores']} cores; SIMD: {present}"
