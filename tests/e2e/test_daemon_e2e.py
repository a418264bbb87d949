"""The real daemon on a real pty fed by the real simulator: records, systemd notify, clean stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _start_sim(*args: str) -> tuple[subprocess.Popen[str], str]:
    sim = subprocess.Popen(
        [sys.executable, "-m", "host_tools", "gps-sim", "--pty", "--seed", "3", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    assert sim.stdout is not None
    line = sim.stdout.readline()
    assert line.startswith("PTY "), line
    return sim, line.split()[1]


def _config(tmp_path: Path, port: str, interval: float = 2.0) -> Path:
    camera = tmp_path / "camera"
    camera.mkdir(exist_ok=True)
    Image.new("RGB", (320, 240), (90, 90, 90)).save(camera / "frame.png")
    path = tmp_path / "device.toml"
    path.write_text(
        f'[device]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[policy]\npower = "always_on"\nlocation_interval_s = {interval}\n'
        f'[gps]\ntype = "serial"\nport = "{port}"\nbaudrate = 9600\n'
        '[supervisor]\ntype = "sim"\nscript = ["2 tamper open=1 uptime_ms=2000", '
        '"5 button press=1 duration_ms=100"]\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera}"\n'
    )
    return path


@pytest.mark.slow
def test_daemon_records_what_the_simulated_walk_shows(tmp_path: Path) -> None:
    sim, port = _start_sim("--scenario", "walk:6,tunnel:8,recovery:6", "--rate", "1")
    notify_path = str(tmp_path / "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "2000000",
           "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHDOG_PID", None)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "firmware", "run", "--config", str(_config(tmp_path, port)),
         "--report", str(tmp_path / "report.jsonl")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    messages: list[bytes] = []
    try:
        sim.wait(timeout=60)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                messages.append(notify.recv(4096))
            except TimeoutError:
                pass
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
        sim.kill()
        notify.setblocking(False)
        while True:
            try:
                messages.append(notify.recv(4096))
            except BlockingIOError:
                break
        notify.close()
    assert daemon.returncode == 0, stderr[-2000:]
    assert any(m.startswith(b"READY=1") for m in messages)
    assert b"WATCHDOG=1" in messages
    assert b"STOPPING=1" in messages

    items = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    records = [i for i in items if i["t"] == "record"]
    types = [r.get("type", r["kind"]) for r in records]
    assert types[0] == "boot" and types[-1] == "shutdown"
    assert "tamper" in types and "fix_lost" in types
    assert types.count("fix_regained") >= 2  # the first fix, and the recovery after the tunnel
    assert types.count("location") >= 3
    checkins = [i for i in items if i["t"] == "checkin"]
    assert [(c["trigger"], c["outcome"], c["guidance"]) for c in checkins] == [
        ("button", "unknown", "not_enrolled")  # nobody enrolled: recorded, never an alarm
    ]
    seqs = sorted([r["seq"] for r in records] + [c["seq"] for c in checkins])
    assert seqs == list(range(len(seqs)))
    summary = next(i for i in items if i["t"] == "summary")
    assert summary["stats"]["sentences_ok"] > 50
    assert summary["store"]["next_seq"] == len(seqs)

    verify = subprocess.run(
        [sys.executable, "-m", "firmware", "records", "verify", "--data-dir",
         str(tmp_path / "data")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _report_items(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_a_restart_continues_the_sequence(tmp_path: Path) -> None:
    """Two runs on one data dir: one device id, sequence numbers continue, chain verifies."""
    seqs: list[int] = []
    ids = set()
    changes: list[list[dict[str, Any]]] = []
    digests: list[str] = []
    for run in range(2):
        sim, port = _start_sim("--scenario", "walk:4", "--rate", "1")
        report = tmp_path / f"report{run}.jsonl"
        daemon = subprocess.Popen(
            [sys.executable, "-m", "firmware", "run", "--config",
             str(_config(tmp_path, port, interval=2.0 + run)), "--report", str(report)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        sim.wait(timeout=60)
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
        assert daemon.returncode == 0, stderr[-2000:]
        items = _report_items(report)
        seqs += [i["seq"] for i in items if i["t"] in ("record", "checkin")]
        ids |= {i["device_id"] for i in items if i["t"] == "ready"}
        events = [i for i in items if i["t"] == "event"]
        digests += [e["config_sha256"] for e in events if e["event"] == "boot"]
        changes.append([e for e in events if e["event"] == "config_change"])
    assert len(ids) == 1
    assert seqs == list(range(len(seqs)))
    # The second run has another location interval: a changed setting, a signed event.
    assert changes[0] == [] and len(changes[1]) == 1
    assert changes[1][0]["previous"] == digests[0] != digests[1] == changes[1][0]["config_sha256"]
