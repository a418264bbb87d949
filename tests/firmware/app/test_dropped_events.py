"""Supervisor events the daemon cannot keep up with are counted into a signed record."""

import io
import threading
import time
from pathlib import Path

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.signature import verify_record
from firmware import config
from firmware.app.daemon import Daemon
from firmware.store.backends import sqlite
from firmware.store.identity import load_identity
from firmware.ui.backends import report

BURST = 1600  # more than the pump's queue (1024) holds while it writes the first records


def events(data_dir: Path) -> list[dict]:
    identity = load_identity(data_dir)
    store = sqlite.create(sqlite.Config(), data_dir=data_dir, identity=identity,
                          clock=SystemClock())
    store.start()
    try:
        rows = store.records(limit=10_000)
    finally:
        store.stop()
    records = [verify_record(row.cose, identity.public_key) for row in rows]
    return [dict(r.body) for r in records if r.kind.value == "event"]


def test_a_burst_beyond_the_queue_ends_up_as_a_supervisor_fault_record(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (tmp_path / "frames").mkdir()
    script = ", ".join(f'"0.2 tamper open={n % 2}"' for n in range(BURST))
    path = tmp_path / "unit.toml"
    path.write_text(f'[device]\ndata_dir = "{data_dir}"\n[policy]\npower = "always_on"\n'
                    '[gps]\ntype = "tcp"\nport = 9\n'
                    f'[supervisor]\ntype = "sim"\ntick_s = 0.05\nscript = [{script}]\n'
                    f'[camera]\ntype = "replay"\nfolder = "{tmp_path / "frames"}"\n')
    daemon = Daemon(config.load(path), report.create(report.Config(), io.StringIO()),
                    health_interval_s=0.05)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    time.sleep(3.0)
    daemon.request_stop()
    thread.join(timeout=60)
    assert not thread.is_alive()
    found = events(data_dir)
    tampers = sum(1 for e in found if e["type"] == "tamper")
    faults = [e["details"] for e in found if e["type"] == "supervisor_fault"
              and e["details"].get("detail") == "event queue full"]
    dropped = sum(int(f["dropped"]) for f in faults)
    assert dropped > 0 and all(f["kinds"].startswith("TamperEvent:") for f in faults)
    assert tampers + dropped == BURST  # every event is either recorded or counted
