"""The bench demo: simulated GPS on a pty -> the real device daemon -> the real ingest server.

Run with ``make demo`` (or ``python -m host_tools.bench.demo``). Nothing to configure: the demo
creates a throw-away server (key, pinned certificate, SQLite database), provisions a device
(key generated on the device, public key registered with the server), points the device at the
simulator's pty, and shows what the device saw and what arrived, verified, on the server.
"""

import argparse
import json
import queue
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from host_tools import sample_faces
from host_tools.bench.duty_day import Link, run_day
from host_tools.bench.processes import Child, python_module, run_checked
from host_tools.bench.timeline import HOLD_S, Timeline

SERVER_START_S = 30.0
BURST_FRAMES = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns 0 when the device saw the walk, the tunnel and the recovery."""
    parser = argparse.ArgumentParser(prog="fieldcheck-demo", description=__doc__)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="simulated seconds per wall second (default 1; faster runs make "
                        "the device see GPS time run ahead of its clock)")
    parser.add_argument("--scenario", default="demo", help="simulator scenario (default: demo)")
    parser.add_argument("--screens", type=Path, default=None,
                        help="folder for the wearer's screens as PNGs (default: a new "
                        "fieldcheck-demo-screens-* folder in the temp dir, kept)")
    parser.add_argument("--language", default="en", choices=("en", "es", "pt", "ht"),
                        help="the wearer's language on the screens (default en)")
    args = parser.parse_args(argv)
    screens = args.screens or Path(tempfile.mkdtemp(prefix="fieldcheck-demo-screens-"))
    with tempfile.TemporaryDirectory(prefix="fieldcheck-demo-") as tmp:
        code = _run(Path(tmp), args.scenario, args.time_scale, (screens, args.language))
    frames = sorted(screens.glob("*.png"))
    print(f"\nthe wearer's screens: {len(frames)} PNG(s) in {screens} "
          f"({', '.join(sorted({f.stem.split('-', 1)[1] for f in frames})) or 'none'})")
    return code


def _run(workdir: Path, scenario: str, time_scale: float, screens: tuple[Path, str]) -> int:
    print(f"fieldcheck bench demo: scenario {scenario!r}, time x{time_scale:g}")
    server_dir, data_dir = workdir / "server", workdir / "device"
    fingerprint = _server_init(server_dir)
    children: list[Child] = []
    try:
        server = Child("fieldcheck server", python_module(
            "host_tools", "server", "run", "--dir", str(server_dir), "--port", "0",
            "--port-file", str(workdir / "port"),
        ))
        children.append(server)
        port = _wait_for_port(workdir / "port", server)
        print(f"  server    : https://127.0.0.1:{port} (certificate {fingerprint[:16]}...)")
        device_id = _provision(data_dir, server_dir)
        print(f"  device    : {device_id}, key generated on the device, registered")
        camera_dir = _enrol(data_dir, workdir / "camera")
        print("  wearer    : enrolled on the device from 2 photos (template encrypted at rest)")
        print("  camera    : replay camera; the button is pressed twice: the wearer, then "
              "someone else")
        sim = Child("gps-sim", python_module(
            "host_tools", "gps-sim", "--pty", "--scenario", scenario, "--rate", "1",
            "--time-scale", str(time_scale), "--seed", "7",
        ))
        children.append(sim)
        pty = _pty_path(sim)
        print(f"  simulator : NMEA on {pty} (GGA RMC GSA GSV VTG ZDA, 9600 baud)")
        config = _device_config(workdir, data_dir, pty, port, server_dir, fingerprint,
                                camera_dir, screens)
        device = Child("fieldcheck-device", python_module(
            "firmware", "run", "--config", str(config), "--report", "-",
        ))
        children.append(device)
        print("  daemon    : fieldcheck-device run (serial GPS on the pty, simulated supervisor)\n")
        seen = _follow(device, sim, time_scale)
        ok = _summarise_device(seen)
        ok = _summarise_server(server_dir, device_id, seen) and ok
        attack = _photo_attack(workdir, config, device)
        # The always-on walk is over: the same unit, duty-cycled, through a simulated day.
        day = run_day(workdir, data_dir, device_id, Link(port, server_dir, fingerprint))
        return 0 if ok and attack and day else 1
    finally:
        for child in reversed(children):
            child.stop()


def _photo_attack(workdir: Path, config: Path, device: Child) -> bool:
    """The wearer's photo fed to the camera with liveness on: refused, recorded for review."""
    device.stop()  # one process owns the unit at a time
    attack = workdir / "attack.toml"
    attack.write_text(config.read_text().replace(
        "[checkin.liveness]\nenabled = false\n",
        f"[checkin.liveness]\nenabled = true\nframes = {BURST_FRAMES}\nlead_s = 0.0\n"))
    out = run_checked(python_module("firmware", "checkin", "now", "--config", str(attack),
                                    "--json"))
    receipt = json.loads(out.splitlines()[-1])
    print(f"\nphoto attack (the wearer's photo, liveness on): {receipt['outcome']} "
          f"({receipt['guidance']}), record {receipt['seq']} for review")
    return receipt["outcome"] == "liveness_failed"


def _server_init(server_dir: Path) -> str:
    out = run_checked(python_module("host_tools", "server", "init", "--dir", str(server_dir)))
    for line in out.splitlines():
        if line.startswith("fingerprint:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"server init printed no fingerprint:\n{out}")


def _wait_for_port(path: Path, server: Child) -> int:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        if server.proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the server did not start: {server.describe_failure()}")


def _provision(data_dir: Path, server_dir: Path) -> str:
    """What a technician does: create the key on the unit, register its public key."""
    shown = json.loads(run_checked(python_module(
        "firmware", "identity", "init", "--data-dir", str(data_dir), "--json",
    )))
    run_checked(python_module(
        "host_tools", "device", "register", "--dir", str(server_dir), "--id", shown["device_id"],
        "--public-key", shown["public_key_hex"], "--label", "bench demo unit",
    ))
    return str(shown["device_id"])


def _enrol(data_dir: Path, camera_dir: Path) -> Path:
    """Enrol the wearer from two photos; stage the replay camera's frames for two check-ins.

    The photos are the face_recognition 1.3.0 sample images, downloaded into a cache once.
    """
    photos = sample_faces.images_dir()
    run_checked(python_module(
        "firmware", "face", "enroll", str(photos / "obama.jpg"), str(photos / "obama2.jpg"),
        "--data-dir", str(data_dir),
    ))
    camera_dir.mkdir()
    for name, source in (("a", "obama3.jpg"), ("b", "biden.jpg")):
        for frame in range(BURST_FRAMES):  # one burst per check-in, in name order
            (camera_dir / f"{name}{frame}.jpg").symlink_to(photos / source)
    return camera_dir


def _device_config(workdir: Path, data_dir: Path, pty: str, port: int, server_dir: Path,
                   fingerprint: str, camera_dir: Path, screens: tuple[Path, str]) -> Path:
    config = workdir / "device.toml"
    config.write_text(
        f'[device]\ndata_dir = "{data_dir}"\n\n'
        '[policy]\npower = "always_on"\nlocation_interval_s = 5.0\nsync_interval_s = 2.0\n\n'
        f'[gps]\ntype = "serial"\nport = "{pty}"\nbaudrate = 9600\n\n'
        f'[sync]\ntype = "https"\nurl = "https://127.0.0.1:{port}"\n'
        f'server_cert = "{server_dir / "server.crt"}"\nfingerprint = "{fingerprint}"\n\n'
        '[supervisor]\ntype = "sim"\nscript = ["4 tamper open=1 uptime_ms=4000", '
        '"8 button press=1 duration_ms=150", "14 button press=1 duration_ms=150", '
        '"18 button press=2 duration_ms=2500"]\n\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera_dir}"\n\n'
        f'[ui]\ntype = "bench"\ndir = "{screens[0]}"\nlanguage = "{screens[1]}"\n\n'
        f"[checkin]\nburst_frames = {BURST_FRAMES}\nattempts = 1\n"
        # Photos on a replay camera are not a live face: the daemon's part of the day runs
        # without liveness; _photo_attack then shows the same photos refused with it on.
        "[checkin.liveness]\nenabled = false\n"
    )
    return config


def _pty_path(sim: Child) -> str:
    line = sim.first_line(timeout=30)
    if not line.startswith("PTY "):
        raise SystemExit(f"gps-sim did not announce a pty: {line!r}")
    return line.split(" ", 1)[1].strip()


def _follow(device: Child, sim: Child, time_scale: float) -> list[dict[str, Any]]:
    """Print the device's report lines in time order until the simulator finishes, then stop
    the device. Faster than real time, GPS time runs ahead of the device clock and the two
    cannot be ordered against each other: the lines then come in the order they arrive."""
    seen: list[dict[str, Any]] = []
    timeline = Timeline(_print_line, hold_s=HOLD_S if time_scale == 1 else 0.0)
    folded = EventRecords()
    sim_done_at: float | None = None
    while True:
        if sim_done_at is None and sim.proc.poll() is not None:
            sim_done_at = time.monotonic()
        if sim_done_at is not None and time.monotonic() - sim_done_at > 4:
            device.stop()  # the last records had a sync round to reach the server
        timeline.release(time.monotonic())
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
        if not isinstance(item, dict):
            continue
        seen.append(item)
        for shown in folded.take(item):
            timeline.add(shown, time.monotonic())
    for shown in folded.rest():
        timeline.add(shown, time.monotonic())
    timeline.drain()
    if device.proc.returncode not in (0, None) and not seen:
        raise SystemExit(f"the device daemon failed: {device.describe_failure()}")
    return seen


class EventRecords:
    """Folds "record committed" of an event into that event's line (the daemon reports the
    record just before the event, and only the event carries the time)."""

    def __init__(self) -> None:
        self._held: dict[str, dict[str, Any]] = {}

    def take(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The items to show for ``item``: none while its event is awaited."""
        if item.get("t") == "record" and item.get("kind") == "event" and item.get("type"):
            earlier = self._held.pop(str(item["type"]), None)
            self._held[str(item["type"])] = item
            return [earlier] if earlier else []
        if item.get("t") == "event" and str(item.get("event")) in self._held:
            record = self._held.pop(str(item["event"]))
            return [{**item, "record_seq": record.get("seq")}]
        return [item]

    def rest(self) -> list[dict[str, Any]]:
        """Records whose event line never came: shown on their own."""
        held, self._held = list(self._held.values()), {}
        return held


def _print_line(when: datetime, item: dict[str, Any]) -> None:
    text = describe(item)
    if text:
        clock = when.strftime("%H:%M:%S") if when.year > 1 else "--:--:--"
        print(f"  {clock}  {text}")


def describe(item: dict[str, Any]) -> str:
    """One human line (without its time) for a device report item; empty for items not worth
    a line."""
    kind = item.get("t")
    if kind == "record":
        what = item.get("type") or item.get("kind")
        return f"signed record #{item.get('seq')} committed: {what}"
    if kind == "state":
        return f"GPS state {item.get('prev')} -> {item.get('state')}"
    if kind == "checkin":
        score = item.get("score")
        receipt = item.get("receipt", item.get("seq"))
        return (f"CHECK-IN ({item.get('trigger')}): {item.get('outcome')}"
                f"{'' if score is None else f', score {score:.2f}'}, receipt #{receipt} "
                f"(signed record #{item.get('seq')}); the wearer is told: {item.get('message')}")
    if kind == "event":
        hidden = ("t", "event", "gps_time", "time", "record_seq")
        details = " ".join(f"{k}={v}" for k, v in item.items() if k not in hidden)
        signed = f" -> signed record #{item['record_seq']}" if "record_seq" in item else ""
        return f"EVENT {item.get('event')} {details}".rstrip() + signed
    if kind == "fix":
        flags = item.get("flags") or []
        if "invalid" in flags:
            return ""  # no position this epoch: the state lines say so
        flag_text = f"  flagged: {', '.join(flags)}" if flags else ""
        return (
            f"{str(item.get('mode', '?')).upper():>3} fix "
            f"{item.get('lat', 0):.5f},{item.get('lon', 0):.5f} "
            f"hdop {item.get('hdop')} sats {item.get('sats_used')}{flag_text}"
        )
    return ""


def _summarise_device(seen: list[dict[str, Any]]) -> bool:
    summary = next((i for i in reversed(seen) if i.get("t") == "summary"), None)
    events = [i.get("event") for i in seen if i.get("t") == "event"]
    fixes = sum(1 for i in seen if i.get("t") == "fix" and not i.get("flags"))
    print("\nwhat the device saw:")
    print(f"  good fixes     : {fixes}")
    print(f"  events         : {', '.join(str(e) for e in events) or 'none'}")
    if summary:
        print(f"  reader         : {json.dumps(summary.get('stats', {}), sort_keys=True)}")
        print(f"  store          : {json.dumps(summary.get('store', {}), sort_keys=True)}")
    checkins = [str(i.get("outcome")) for i in seen if i.get("t") == "checkin"]
    print(f"  check-ins      : {', '.join(checkins) or 'none'}")
    return (fixes > 0 and "fix_lost" in events and events.count("fix_regained") >= 2
            and checkins == ["match", "no_match"])


def _summarise_server(server_dir: Path, device_id: str, seen: list[dict[str, Any]]) -> bool:
    rows = json.loads(run_checked(python_module(
        "host_tools", "records", "export", "--dir", str(server_dir), "--device", device_id,
        "--format", "json",
    )))
    summary: dict[str, Any] = next((i for i in reversed(seen) if i.get("t") == "summary"), {})
    committed = summary.get("store", {}).get("next_seq", "?")
    status = Counter(str(r.get("status")) for r in rows)
    kinds = Counter(_kind_of(r) for r in rows)
    print("\nwhat arrived on the server:")
    print(f"  records        : {len(rows)} of {committed} committed on the device")
    print(f"  status         : {dict(status)}")
    print(f"  kinds          : {dict(kinds)}")
    ok = bool(rows) and set(status) == {"verified"}
    print("\nresult: " + ("OK: walk, tunnel, recovery and two check-ins seen; every record "
                          "verified on the server" if ok else "INCOMPLETE"))
    return ok


def _kind_of(row: dict[str, Any]) -> str:
    record = row.get("record") or {}
    body = record.get("body") or {}
    if record.get("kind") == "checkin":
        return f"checkin:{body.get('verdict')}"
    return str(body.get("type") or record.get("kind") or row.get("kind"))


if __name__ == "__main__":
    sys.exit(main())
