"""Safe mode with the real daemon: an invalid config, a corrupt model, a thread that keeps dying.

In each case the daemon keeps running, commits a signed ``safe_mode`` event, keeps pinging the
watchdog and says on the feedback sink what a technician must do.
"""

import io
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.signature import verify_record
from firmware import config
from firmware.app.daemon import Daemon
from firmware.services.gps_watch import GpsWatch
from firmware.services.supervision import RestartBudget
from firmware.store.backends import sqlite
from firmware.store.identity import load_identity
from firmware.ui.backends import report

REPO = Path(__file__).resolve().parents[3]


def unit_toml(data_dir: Path, extra: str = "", policy: str = 'power = "always_on"\n') -> str:
    """A bench unit: GPS over TCP to a closed port, simulated MCU, replay camera, real models.

    ``policy`` is the ``[policy]`` table's text (always on unless a test says otherwise).
    """
    (data_dir / "frames").mkdir(parents=True, exist_ok=True)
    return (f'[device]\ndata_dir = "{data_dir}"\n[policy]\n{policy}'
            f'[gps]\ntype = "tcp"\nport = 9\n'
            f'[supervisor]\ntype = "sim"\nscript = ["0.05 tamper open=1"]\n'
            f'[camera]\ntype = "replay"\nfolder = "{data_dir / "frames"}"\n{extra}')


@pytest.fixture
def watchdog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A notify socket the daemon sends READY/WATCHDOG datagrams to."""
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(0.01)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        yield server


def pings(server: socket.socket) -> list[str]:
    """Every datagram received so far."""
    got = []
    while True:
        try:
            got.append(server.recv(4096).decode())
        except TimeoutError:
            return got


def run_until_safe(validation: config.Validation, data_dir: Path,
                   budget: RestartBudget | None = None) -> tuple[list[dict], Daemon]:
    """Run the real daemon on a thread until it reported safe mode, then stop it."""
    stream = io.StringIO()
    daemon = Daemon(validation, report.create(report.Config(), stream), health_interval_s=0.05,
                    budget=budget)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while '"t": "safe_mode"' not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a few health rounds in safe mode: the watchdog must still be fed
    daemon.request_stop()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the daemon did not stop"
    return [json.loads(line) for line in stream.getvalue().splitlines()], daemon


def signed_events(data_dir: Path) -> list[dict]:
    """The event bodies in the store, each signature verified with the device key."""
    identity = load_identity(data_dir)
    store = sqlite.create(sqlite.Config(), data_dir=data_dir, identity=identity,
                          clock=SystemClock())
    store.start()
    try:
        rows = store.records(limit=1000)
    finally:
        store.stop()
    records = [verify_record(row.cose, identity.public_key) for row in rows]
    return [dict(r.body) for r in records if r.kind.value == "event"]


def check_safe(lines: list[dict], data_dir: Path, watchdog: socket.socket,
               reason: str) -> dict:
    safe = [line for line in lines if line["t"] == "safe_mode"]
    assert len(safe) == 1 and safe[0]["reason"] == reason
    assert safe[0]["action"], "the sink must say what a technician must do"
    events = [e for e in signed_events(data_dir) if e["type"] == "safe_mode"]
    assert [e["details"]["reason"] for e in events] == [reason]
    sent = pings(watchdog)
    assert any("SAFE MODE" in d for d in sent)
    after = sent[next(i for i, d in enumerate(sent) if "SAFE MODE" in d):]
    assert sum("WATCHDOG=1" in d for d in after) >= 2, "safe mode must keep feeding the watchdog"
    assert lines[-1]["t"] == "summary"  # it ran to a clean stop, no exit on the fault
    return safe[0]


def test_an_invalid_config_file_means_safe_mode_not_an_exit(tmp_path: Path,
                                                            watchdog: socket.socket) -> None:
    data_dir = tmp_path / "unit"
    path = tmp_path / "device.toml"
    path.write_text(unit_toml(data_dir, '[checkin]\ntimezone = "Mars/Olympus"\n'
                              'times = ["25:00"]\nmode = "times"\n'))
    validation = config.validate(path)
    assert not validation.ok
    lines, _ = run_until_safe(validation, data_dir)
    safe = check_safe(lines, data_dir, watchdog, "config_invalid")
    assert "checkin.timezone" in safe["detail"] and "checkin.times[0]" in safe["detail"]
    assert "config check" in safe["action"]
    # The MCU link still runs in safe mode: the scripted tamper is a signed record.
    assert "tamper" in {e["type"] for e in signed_events(data_dir)}


def test_a_corrupt_model_means_safe_mode(tmp_path: Path, watchdog: socket.socket) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("manifest.json", "face_detector_short_range.tflite", "face_embedder_int8.tflite"):
        shutil.copy(REPO / "models" / name, models / name)
    blob = bytearray((models / "face_embedder_int8.tflite").read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte: the manifest's sha256 no longer matches
    (models / "face_embedder_int8.tflite").write_bytes(bytes(blob))
    data_dir = tmp_path / "unit"
    path = tmp_path / "device.toml"
    path.write_text(unit_toml(data_dir, f'[face]\nmodels_dir = "{models}"\n'))
    validation = config.validate(path)
    assert validation.ok, validation.problems
    lines, _ = run_until_safe(validation, data_dir)
    safe = check_safe(lines, data_dir, watchdog, "model_invalid")
    assert "sha256" in safe["detail"] and "reinstall" in safe["action"]
    # Only check-ins stop: the GPS watch still runs (and says its port is not there).
    assert lines[-1]["stats"]["state"] != "off (safe mode)"


def test_a_thread_that_keeps_dying_spends_the_budget_then_safe_mode(
        tmp_path: Path, watchdog: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GpsWatch, "_run", lambda self: None)  # the watch thread ends at once
    data_dir = tmp_path / "unit"
    path = tmp_path / "device.toml"
    path.write_text(unit_toml(data_dir))
    budget = RestartBudget(SystemClock(), max_restarts=3, window_s=60.0)
    lines, daemon = run_until_safe(config.validate(path), data_dir, budget)
    safe = check_safe(lines, data_dir, watchdog, "restart_budget")
    assert safe["detail"].startswith("gps stopped 3 times")
    assert len(budget._times) == 3  # exactly the budget's restarts, then no more
