"""``make bench``: every benchmark in one run, printed as one table with ratios against baselines.

Each section runs real processes (the device's own ``bench`` commands, the simulator, the daemon)
and returns rows; the figures of one table come from one run on one machine, so ratios compare
like with like even on a noisy shared machine.
"""

import argparse
import functools
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host_tools.bench import power as power_bench
from host_tools.bench.cpu import cpu_seconds, machine_header, machine_summary
from host_tools.bench.processes import REPO, Child, python_module


@dataclass(frozen=True)
class Row:
    """One figure: ours against a named baseline (``baseline`` None when there is none)."""

    section: str
    figure: str
    ours: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    better: str = "lower"  # which direction is better, for the ratio column
    target: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better ours is than the baseline (>1 = better)."""
        if self.baseline is None or self.ours == 0 or self.baseline == 0:
            return None
        return self.baseline / self.ours if self.better == "lower" else self.ours / self.baseline


def run_json(argv: Sequence[str], timeout: float = 900) -> dict[str, Any]:
    """Run a command that prints one JSON object as its last stdout line."""
    done = subprocess.run(
        list(argv), capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-800:]}")
    text = done.stdout
    start = text.find("{")
    if start < 0:
        raise RuntimeError(f"{' '.join(argv)} printed no JSON: {text[-400:]}")
    result: dict[str, Any] = json.JSONDecoder().raw_decode(text[start:])[0]
    return result


def gps_reader(quick: bool) -> list[Row]:
    """CPU time per sentence through the whole reader against pyserial readline() + pynmea2."""
    count = "3000" if quick else "20000"
    data = run_json(python_module("firmware", "gps", "bench", "--sentences", count))
    rows = [
        Row("gps", "CPU per sentence, whole reader (pty)",
            float(data["chunked_us_per_sentence"]), "us",
            float(data["readline_us_per_sentence"]), "pyserial readline()+pynmea2", "lower"),
    ]
    if (REPO.parent / "shared" / "nmea-corpus").is_dir():  # real logs, fewer repeated lines
        corpus = run_json(python_module("firmware.tools.gps_bench_corpus"))
        rows.append(Row("gps", "CPU per sentence, whole reader on the gpsd corpus (in memory)",
                        float(corpus["us_per_sentence"]), "us"))
    return rows


def gps_daemon_share(quick: bool) -> list[Row]:
    """CPU share of the daemon, and of the naive reader, with a 10 Hz receiver at 115200 baud
    and with a 1 Hz receiver at 9600 baud (a u-blox's defaults: the unit at rest)."""
    seconds = 8.0 if quick else 30.0
    rows = []
    for rate, baud, target in ((10, 115200, "a few % of a Pi Zero 2 W core"), (1, 9600, "")):
        ours = _share_of(functools.partial(_daemon_argv, baudrate=baud), seconds, rate, baud)
        naive = _share_of(functools.partial(_naive_argv, baudrate=baud), seconds, rate, baud)
        rows.append(Row("gps", f"daemon CPU share at {rate} Hz, {baud} baud", ours * 100,
                        "% of a core", naive * 100, "naive reader process", "lower", target))
    return rows


def _naive_argv(port: str, _workdir: Path, baudrate: int = 115200) -> list[str]:
    return python_module("host_tools.bench.naive_reader", port, str(baudrate))


def _daemon_argv(port: str, workdir: Path, baudrate: int = 115200) -> list[str]:
    config = workdir / "device.toml"
    config.write_text(
        f'[device]\ndata_dir = "{workdir / "data"}"\n\n'
        '[policy]\npower = "always_on"\n\n'  # awake for the whole measurement
        f'[gps]\ntype = "serial"\nport = "{port}"\nbaudrate = {baudrate}\n\n'
        '[supervisor]\ntype = "sim"\n\n'
        f'[camera]\ntype = "replay"\nfolder = "{workdir}"\n'  # no check-in in this run
    )
    return python_module("firmware", "run", "--config", str(config))


def _share_of(
    argv_for: Callable[[str, Path], list[str]], seconds: float, rate: int = 10, baud: int = 115200
) -> float:
    """Start a ``rate`` Hz simulator at ``baud`` on a pty and a reader on it; CPU s per wall s."""
    with tempfile.TemporaryDirectory(prefix="fieldcheck-bench-") as tmp:
        sim = Child("gps-sim", python_module(
            "host_tools", "gps-sim", "--pty", "--rate", str(rate), "--baud", str(baud),
            "--scenario", "walk", "--duration", str(seconds + 30), "--seed", "1",
        ))
        reader: Child | None = None
        try:
            line = sim.first_line(timeout=30)
            port = line.split(" ", 1)[1].strip()
            reader = Child("reader", argv_for(port, Path(tmp)))
            time.sleep(3.0)  # start-up (imports, port open) is not steady-state load
            if reader.proc.poll() is not None:
                raise RuntimeError(f"reader exited: {reader.describe_failure()}")
            cpu0, wall0 = cpu_seconds(reader.proc.pid), time.monotonic()
            time.sleep(seconds)
            cpu1, wall1 = cpu_seconds(reader.proc.pid), time.monotonic()
            return (cpu1 - cpu0) / (wall1 - wall0)
        finally:
            if reader is not None:
                reader.stop()
            sim.stop()


def _fuzz_json(module: str, inputs: int) -> dict[str, Any]:
    """Run a fuzz harness module (one JSON line; exit 1 means it ran and found escapes)."""
    done = subprocess.run(
        python_module(module, "--inputs", str(inputs)),
        capture_output=True, text=True, cwd=REPO, timeout=1800, check=False,
    )
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"{module} failed ({done.returncode}): {done.stderr[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fuzz(quick: bool) -> list[Row]:
    """Mutated NMEA through framer + parser + tracker: inputs per second, and escapes (0)."""
    data = _fuzz_json("firmware.tools.gps_fuzz", 20_000 if quick else 1_000_000)
    return [
        Row("fuzz", f"NMEA inputs/s, {int(data['inputs']):,} mutated lines",
            float(data["inputs_per_s"]), "inputs/s", better="higher"),
        Row("fuzz", "escapes (exception or unrecordable fix)", float(data["escapes"]), "",
            target="0"),
    ]


def record_fuzz(quick: bool) -> list[Row]:
    """Mutated COSE records and batches through the server's parse and verify: rate and escapes."""
    data = _fuzz_json("host_tools.bench.record_fuzz", 5_000 if quick else 200_000)
    return [
        Row("record-fuzz", f"upload bodies/s, {int(data['inputs']):,} mutated batches",
            float(data["inputs_per_s"]), "inputs/s", better="higher"),
        Row("record-fuzz", "escapes (exception, or a mutated record verified)",
            float(data["escapes"]), "", target="0"),
    ]

def records(quick: bool) -> list[Row]:
    """Device side: records signed and committed per second; bytes per record against JSON."""
    # The scratch store goes under the repository: a real disk, where fsync costs what it costs.
    data = run_json(python_module(
        "firmware", "records", "bench", "--count", "500" if quick else "5000", "--dir", str(REPO)
    ))
    return [
        Row("records", "signed + committed (fsync) per second", float(data["records_per_s"]),
            "rec/s", float(data["sign_only_per_s"]), "Ed25519 signing alone", "higher"),
        Row("records", "bytes per record (COSE_Sign1, CBOR)",
            float(data["cose_bytes_per_record"]), "B", float(data["json_bytes_per_record"]),
            "same content as JSON", "lower"),
    ]


def server(quick: bool) -> list[Row]:
    """Server side: verified+committed records per second against Ed25519 verify (SQLite, then
    PostgreSQL when a throwaway cluster starts); drain time; latency; CPU per record."""
    # load's throwaway PostgreSQL cluster; load imports Row from here, so it is imported late.
    postgres = importlib.import_module("host_tools.bench.load").postgres

    argv = ["--records", "2560" if quick else "10240", "--backlog", "2000" if quick else "10000"]
    data = run_json(python_module("host_tools", "server", "bench", *argv))
    rows = _server_rows(data, "SQLite")
    with postgres() as (cluster, why):
        if cluster is None:
            print(f"  server: PostgreSQL skipped: {why}", file=sys.stderr)
            return rows
        cluster.admin("CREATE DATABASE serverbench")
        url = cluster.url("serverbench")
        data = run_json(python_module("host_tools", "server", "bench", *argv, "--database", url))
    return rows + _server_rows(data, "PostgreSQL")


def _server_rows(data: dict[str, Any], database: str) -> list[Row]:
    backlog = int(data["backlog_records"])
    return [
        Row("server", f"records verified + committed per second ({database}; ingest p99 "
            f"{data['ingest_batch_ms_p99']} ms a {data['batch_records']}-record batch)",
            float(data["server_ingest_records_per_s"]), "rec/s",
            float(data["ed25519_verify_per_s_one_core"]), "Ed25519 verify, one core", "higher",
            target="1.0x"),
        Row("server", f"Ed25519 verify on all {data['verify_parts']} cores at once, against one "
            f"core just before ({database} run; what this shared machine gives now)",
            float(data["ed25519_verify_per_s_all_cores"]), "verifies/s",
            float(data["ed25519_verify_per_s_one_core_beside_all"]), "one core", "higher"),
        Row("server", f"CPU per record in Ed25519 verifies ({database}; the database server's "
            f"part {data['ingest_database_cpu_per_record_in_verifies']}; "
            f"{data['ingest_cores_busy']} of {data['verify_parts']} cores busy)",
            float(data["ingest_cpu_per_record_in_verifies"]), "verifies", target="1.0 = floor"),
        Row("server", f"drain a {backlog}-record backlog ({database})",
            float(data["backlog_drain_s"]), "s", target="10,000 records"),
        Row("server", f"request latency p99 ({data['batch_records']}-record batches, HTTP, "
            f"{database}; p50 {data['drain_request_ms_p50']} ms)",
            float(data["drain_request_ms_p99"]), "ms"),
    ]


def face(quick: bool) -> list[Row]:
    """Face: per-stage latency against each model's bare invoke and dlib-bin's own pipeline,
    the XNNPACK path of the int8 embedder, peak memory, model size."""
    data = run_json(python_module("firmware", "face", "bench", "--repeats", "2" if quick else "5"))
    stages = data["median_ms"]
    reference = data.get("reference") or {}
    ref_ms = reference.get("median_ms", {})
    bare = data.get("bare_invoke_ms", {})
    rows = []
    for stage in ("detect", "embed"):
        if stage in bare:
            rows.append(Row("face", f"{stage}: stage vs its model's bare invoke, same input"
                            f"{' (RGBX camera frames)' if stage == 'detect' else ''}",
                            float(stages[stage]), "ms", float(bare[stage]),
                            "interpreter set_tensor+invoke", target="ratio >= 0.80x (1.25x)"))
    rows += _face_cpu_rows(data.get("cpu", {}), ref_ms)
    parts = data.get("detect_parts_ms", {})
    if {"letterbox", "decode"} <= set(parts):
        rows.append(Row("face", f"detect outside the model: letterbox {parts['letterbox']} ms + "
                        f"decode/NMS {parts['decode']} ms, each alone (RGBX camera frames)",
                        float(parts["letterbox"]) + float(parts["decode"]), "ms"))
    rows += _face_rgb_rows(data, bare, ref_ms)
    rows += [
        Row("face", f"{stage} (median, one thread)", float(stages[stage]), "ms",
            _float_or_none(ref_ms.get(stage)), "dlib-bin pipeline" if stage in ref_ms else "")
        for stage in ("detect", "align", "embed", "match")
    ]
    if isinstance(ref_ms.get("chip"), int | float):
        rows.append(Row("face", "align (the chip alone, RGBX camera frames) vs dlib's "
                        "get_face_chip alone",
                        float(stages["align"]), "ms", float(ref_ms["chip"]), "dlib.get_face_chip",
                        target="<= 0.5 ms"))
    if "quality" in stages:
        rows.append(Row("face", "quality figures on the chip (brightness, sharpness, yaw)",
                        float(stages["quality"]), "ms"))
    rows.append(Row("face", "whole frame (median, one thread)", float(stages["frame"]), "ms",
                    _float_or_none(ref_ms.get("frame")), "dlib-bin pipeline", target="< 25 ms"))
    xnnpack = data.get("xnnpack", {}).get("embedder", {})
    if "xnnpack_path" in xnnpack:
        left = ", ".join(f"{n} {op}" for op, n in xnnpack["builtin_ops"].items()) or "none"
        rows.append(Row("face", f"int8 embedder: XNNPACK {xnnpack['xnnpack_path'].split(' ')[0]}, "
                        f"{xnnpack['xnnpack_partitions']} partitions; ops on TFLite kernels "
                        f"({left})", float(sum(xnnpack["builtin_ops"].values())), "ops"))
    chips = data.get("embedders_ms_per_chip", {})
    if isinstance(chips.get("float_baseline"), int | float):
        rows.append(Row("face", "embedder per chip, int8 vs float", float(chips["face_embedder"]),
                        "ms", float(chips["float_baseline"]), "float32 TFLite, same network"))
    memory = data.get("verify_process", {})
    if "peak_rss_mb" in memory:
        rows.append(Row("face", "peak memory of a verify process", float(memory["peak_rss_mb"]),
                        "MB", target="< 150 MB"))
    if "accuracy_ours" in reference:
        rows.append(Row("face", f"accuracy on {reference['pairs']} sample pairs",
                        float(reference["accuracy_ours"]), "", float(reference["accuracy_dlib"]),
                        "dlib-bin pipeline", "higher", "equal to dlib"))
    size = sum(int(v) for v in data.get("model_bytes", {}).values())
    rows.append(Row("face", "model files (detector + embedder)", size / 1e6, "MB"))
    return rows


def _face_rgb_rows(data: dict[str, Any], bare: dict[str, Any], ref_ms: dict[str, Any]
                   ) -> list[Row]:
    """detect, its letterbox, and align again on the same photos as 3-byte RGB frames (image
    files), timed in the same loop as the camera's RGBX frames: the two layouts side by side
    (no targets: the goals are for the camera's frames)."""
    rgb_frames = data.get("rgb_frames", {})
    cpu_bare = data.get("cpu", {}).get("bare_invoke_ms", {})
    rows = []
    for clock, stages, invoke in (("", rgb_frames.get("median_ms", {}), bare),
                                  (", CPU time", rgb_frames.get("cpu_median_ms", {}), cpu_bare)):
        if "detect" in stages and "detect" in invoke:
            rows.append(Row("face", f"detect on RGB (3-byte) frames vs the bare invoke{clock}",
                            float(stages["detect"]), "ms", float(invoke["detect"]),
                            f"set_tensor+invoke{clock}"))
        if "align" in stages:
            rows.append(Row("face", f"align (the chip alone) on RGB (3-byte) frames{clock}",
                            float(stages["align"]), "ms", _float_or_none(ref_ms.get("chip")),
                            "dlib.get_face_chip alone, wall" if "chip" in ref_ms else ""))
    letterbox = data.get("detect_parts_ms", {}).get("letterbox_rgb")
    if isinstance(letterbox, int | float):
        rows.append(Row("face", "letterbox alone on RGB (3-byte) frames", float(letterbox), "ms"))
    return rows


def _face_cpu_rows(cpu: dict[str, Any], ref_ms: dict[str, Any]) -> list[Row]:
    """The stage-vs-bare and align rows again in the bench process's CPU time (steady on a
    shared machine, where wall medians are mostly the wait for a core)."""
    stages, bare = cpu.get("median_ms", {}), cpu.get("bare_invoke_ms", {})
    rows = [Row("face", f"{stage}: stage vs its model's bare invoke, CPU time"
                f"{' (RGBX camera frames)' if stage == 'detect' else ''}",
                float(stages[stage]), "ms", float(bare[stage]), "set_tensor+invoke, CPU time",
                target="ratio >= 0.80x (1.25x)")
            for stage in ("detect", "embed") if stage in stages and stage in bare]
    if "align" in stages:
        rows.append(Row("face", "align (the chip alone, RGBX camera frames), CPU time",
                        float(stages["align"]),
                        "ms", _float_or_none(ref_ms.get("chip")),
                        "dlib.get_face_chip alone, wall" if "chip" in ref_ms else "",
                        target="<= 0.5 ms"))
    if "quality" in stages:
        rows.append(Row("face", "quality figures on the chip, CPU time", float(stages["quality"]),
                        "ms"))
    return rows


def power(quick: bool) -> list[Row]:
    """Real wake sessions of the duty-cycled daemon: awake time a day, days on one 18650."""
    wakes = power_bench.run_sessions(3 if quick else 8)
    found = power_bench.figures(wakes)
    budget = power_bench.budget_module()
    always_on = budget.battery_life_days(budget.daily_budget(budget.POLICIES[0]), budget.Cell())
    rows = [
        Row("power", f"daemon share of a wake (median of {len(wakes)} real sessions)",
            statistics.median(w.wall_s for w in wakes), "s"),
        Row("power", "awake seconds per day (measured)", found["awake_s_per_day"], "s",
            86400.0, "always on", "lower"),
        Row("power", "days on one charge (reference 18650)", found["days_on_charge"], "days",
            always_on, "always on (budget.py)", "higher", ">= 7"),
    ]
    if found["ttff_s"] >= 0:
        rows.insert(1, Row("power", "time to first fix after a wake (median, simulated GPS)",
                           found["ttff_s"], "s"))
    return rows


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "gps-reader": gps_reader,
    "gps-daemon": gps_daemon_share,
    "fuzz": fuzz,
    "record-fuzz": record_fuzz,
    "records": records,
    "server": server,
    "face": face,
    "power": power,
}
# checkin_bench imports Row from here, so its section is imported when it runs.
SECTIONS["checkin"] = lambda quick: importlib.import_module("host_tools.bench.checkin_bench").checkin(quick)  # noqa: E501
SECTIONS["load"] = lambda quick: importlib.import_module("host_tools.bench.load").load(quick)
SECTIONS["face-parity"] = lambda quick: importlib.import_module("host_tools.bench.face_parity").face_parity(quick)  # noqa: E501


def render(rows: Sequence[Row]) -> str:
    """The result table as fixed-width text."""
    header = ("section", "figure", "ours", "baseline", "ratio", "baseline is", "target")
    body = []
    for r in rows:
        body.append((
            r.section, r.figure, f"{r.ours:.4g} {r.unit}",
            "" if r.baseline is None else f"{r.baseline:.4g} {r.unit}",
            "" if r.ratio is None else f"{r.ratio:.2f}x",
            r.baseline_name, r.target,
        ))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
             for row in (header, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections (all by default) and print one table."""
    parser = argparse.ArgumentParser(prog="fieldcheck-bench", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="sections to run")
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke check)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    failed = []
    for name in args.only or SECTIONS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows += SECTIONS[name](args.quick)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, KeyError, ValueError) as err:
            failed.append(name)
            print(f"  {name} failed: {err}", file=sys.stderr)
    machine = machine_summary()
    print(machine_header(machine))
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps(
            {"machine": machine, "rows": [r.__dict__ for r in rows]}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
