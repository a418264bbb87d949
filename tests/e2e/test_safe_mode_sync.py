"""Safe mode on the real daemon process: an invalid config still syncs to a real server."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.signature import verify_record
from fieldcheck_server import tls
from firmware.store.backends import sqlite
from firmware.store.identity import create_identity
from tests.e2e.daemonkill import write_config
from tests.e2e.serverproc import ServerProcess, fieldcheck, provision

REPO = Path(__file__).resolve().parents[2]


def test_a_unit_with_an_invalid_config_keeps_syncing_and_says_why(tmp_path: Path) -> None:
    data_dir = tmp_path / "unit"
    identity = create_identity(data_dir)
    fingerprint = provision(tmp_path / "srv", identity.device_id, identity.public_key_hex)
    server = ServerProcess(tmp_path / "srv")
    server.start()
    try:
        config = write_config(tmp_path, data_dir, f"https://127.0.0.1:{server.port}",
                              server.directory / tls.CERT_FILE, fingerprint)
        text = config.read_text().replace("[checkin]\n", '[checkin]\ntimezone = "Mars/Olympus"\n')
        config.write_text(text)
        report = tmp_path / "report.jsonl"
        unit = subprocess.Popen([sys.executable, "-m", "firmware", "run", "--config",
                                 str(config), "--report", str(report)], cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            listing = ""
            while listing.count("verified") < 3 and time.monotonic() < deadline:
                assert unit.poll() is None, unit.communicate()[1]
                time.sleep(0.5)
                listing = fieldcheck("records", "list", "--dir", str(server.directory),
                                     "--device", identity.device_id)
        finally:
            unit.send_signal(signal.SIGTERM)
            _, err = unit.communicate(timeout=60)
    finally:
        server.stop()
    assert unit.returncode == 0, err
    assert listing.count("verified") >= 3, listing  # boot, safe_mode, tamper... on the server
    assert '"t": "safe_mode"' in report.read_text()
    store = sqlite.create(sqlite.Config(), data_dir=data_dir, identity=identity,
                          clock=SystemClock())
    store.start()
    try:
        rows = store.records(limit=1000)
        acked = store.status().acked_seq
    finally:
        store.stop()
    bodies = {row.seq: verify_record(row.cose, identity.public_key).body for row in rows}
    safe = [seq for seq, body in bodies.items() if body.get("type") == "safe_mode"]
    assert len(safe) == 1 and acked >= safe[0], "the safe_mode event reached the server"
    assert bodies[safe[0]]["details"]["reason"] == "config_invalid"
    assert "checkin.timezone" in bodies[safe[0]]["details"]["detail"]
