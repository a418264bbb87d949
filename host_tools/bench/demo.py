"""The bench demo: simulated GPS on a pty -> the real device daemon, and what the device saw.

Run with ``make demo`` (or ``python -m host_tools.bench.demo``). Nothing to configure: the demo
writes a throw-away device config pointing at the simulator's pty and a temporary data folder.
"""

import argparse
import json
import queue
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from host_tools.bench.processes import Child, python_module


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns 0 when the device saw the walk, the tunnel and the recovery."""
    parser = argparse.ArgumentParser(prog="fieldcheck-demo", description=__doc__)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="simulated seconds per wall second (default 1; faster runs make "
                        "the device see GPS time run ahead of its clock)")
    parser.add_argument("--scenario", default="demo", help="simulator scenario (default: demo)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fieldcheck-demo-") as tmp:
        return _run(Path(tmp), args.scenario, args.time_scale)


def _run(workdir: Path, scenario: str, time_scale: float) -> int:
    print(f"fieldcheck bench demo: scenario {scenario!r}, time x{time_scale:g}")
    sim = Child("gps-sim", python_module(
        "host_tools", "gps-sim", "--pty", "--scenario", scenario, "--rate", "1",
        "--time-scale", str(time_scale), "--seed", "7",
    ))
    device: Child | None = None
    try:
        pty = _pty_path(sim)
        print(f"  simulator : NMEA on {pty} (GGA RMC GSA GSV VTG ZDA, 9600 baud)")
        config = workdir / "device.toml"
        data = workdir / "data"
        config.write_text(
            f'[device]\ndata_dir = "{data}"\n\n'
            f'[policy]\nlocation_interval_s = 5.0\n\n'
            f'[gps]\ntype = "serial"\nport = "{pty}"\nbaudrate = 9600\n\n'
            f'[supervisor]\ntype = "sim"\nscript = ["4 tamper open=1 uptime_ms=4000"]\n'
        )
        device = Child("fieldcheck-device", python_module(
            "firmware", "run", "--config", str(config), "--report", "-",
        ))
        print("  device    : fieldcheck-device run (serial backend on the pty)\n")
        seen = _follow(device, sim)
        return _summarise(seen)
    finally:
        if device is not None:
            device.stop()
        sim.stop()


def _pty_path(sim: Child) -> str:
    line = sim.first_line(timeout=30)
    if not line.startswith("PTY "):
        raise SystemExit(f"gps-sim did not announce a pty: {line!r}")
    return line.split(" ", 1)[1].strip()


def _follow(device: Child, sim: Child) -> list[dict[str, Any]]:
    """Print the device's report lines until the simulator finishes, then stop the device."""
    seen: list[dict[str, Any]] = []
    sim_done_at: float | None = None
    while True:
        if sim_done_at is None and sim.proc.poll() is not None:
            sim_done_at = time.monotonic()
        if sim_done_at is not None and time.monotonic() - sim_done_at > 3:
            device.stop()
        try:
            line = device.lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        seen.append(item)
        text = describe(item)
        if text:
            print(text)
    if device.proc.returncode not in (0, None) and not seen:
        raise SystemExit(f"the device daemon failed: {device.describe_failure()}")
    return seen


def describe(item: dict[str, Any]) -> str:
    """One human line for a device report item (empty for items not worth a line)."""
    kind = item.get("t")
    clock = str(item.get("gps_time") or item.get("time") or "")[11:19]
    if kind == "record":
        what = item.get("type") or item.get("kind")
        return f"  {'':8}  signed record #{item.get('seq')} committed: {what}"
    if kind == "state":
        return f"  {clock}  GPS state {item.get('prev')} -> {item.get('state')}"
    if kind == "event":
        extra = {k: v for k, v in item.items() if k not in ("t", "event", "gps_time", "time")}
        details = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"  {clock}  EVENT {item.get('event')} {details}".rstrip()
    if kind == "fix":
        flags = item.get("flags") or []
        if "invalid" in flags:
            return ""  # no position this epoch: the state lines say so
        flag_text = f"  flagged: {', '.join(flags)}" if flags else ""
        return (
            f"  {clock}  {str(item.get('mode', '?')).upper():>3} fix "
            f"{item.get('lat', 0):.5f},{item.get('lon', 0):.5f} "
            f"hdop {item.get('hdop')} sats {item.get('sats_used')}{flag_text}"
        )
    return ""


def _summarise(seen: list[dict[str, Any]]) -> int:
    summary = next((i for i in reversed(seen) if i.get("t") == "summary"), None)
    events = [i.get("event") for i in seen if i.get("t") == "event"]
    fixes = sum(1 for i in seen if i.get("t") == "fix")
    print("\nwhat the device saw:")
    print(f"  fixes reported : {fixes}")
    print(f"  events         : {', '.join(str(e) for e in events) or 'none'}")
    if summary:
        print(f"  reader         : {json.dumps(summary.get('stats', {}), sort_keys=True)}")
    ok = fixes > 0 and "fix_lost" in events and "fix_regained" in events
    print("\nresult: " + ("OK, walk, tunnel and recovery seen" if ok else "INCOMPLETE"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
