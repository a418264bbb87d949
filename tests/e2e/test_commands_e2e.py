"""Signed commands end to end: `fieldcheck device command`, the real HTTPS server, the real daemon.

Commands are queued while the unit is off (they wait for its first upload). Besides the genuine
ones, hostile commands are put straight into the server's queue (as a compromised or buggy
queue could): signed by another key, for another unit, expired, out of order, and a replayed
copy; the unit must refuse each, answer each, and never run a command twice, across a restart.
"""

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.command import Command, CommandKind, sign_command
from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_protocol.signature import verify_record
from fieldcheck_server import command_key, tls
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.db.tx import CommandRow
from firmware.store.backends import sqlite
from firmware.store.identity import DeviceIdentity, create_identity
from tests.e2e.daemonkill import write_config
from tests.e2e.serverproc import ServerProcess, fieldcheck, provision

REPO = Path(__file__).resolve().parents[2]


def _inject(directory: Path, device_id: str, db_seq: int, cose: bytes, cid: str,
            answered: bool = False) -> None:
    """Put a command straight into the server's queue, bypassing `device command`."""
    now = to_ms(datetime.now(UTC))
    row = CommandRow(cid, device_id, db_seq, "checkin_now", cose, now, now + 3_600_000,
                     "attacker", None, now if answered else None, None, None, None)
    with open_sqlite(directory / DB_FILE).write() as tx:
        tx.insert_command(row)


def _signed(key: Ed25519PrivateKey, device_id: str, seq: int, cid: str,
            age: timedelta = timedelta(0)) -> bytes:
    issued = datetime.now(UTC) - age
    return sign_command(Command(cid, device_id, seq, issued, issued + timedelta(hours=1),
                                CommandKind.CHECKIN_NOW, {}), key)


def _states(directory: Path, device_id: str) -> dict[str, str]:
    """The state of each command queued through the CLI, by kind."""
    out = fieldcheck("device", "commands", "--dir", str(directory), "--id", device_id)
    rows = [line.split() for line in out.splitlines()]
    return {f"{row[2]}{row[0]}" if row[2] == "set_policy" else row[2]: row[3]
            for row in rows if row[5] != "attacker"}


def _run_unit(config: Path, report: Path, done: Any, timeout_s: float = 90.0) -> str:
    """Run the daemon until ``done()`` holds (or the time is up); returns its stderr."""
    unit = subprocess.Popen([sys.executable, "-m", "firmware", "run", "--config", str(config),
                             "--report", str(report)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            assert unit.poll() is None, unit.communicate()[1][-3000:]
            time.sleep(0.5)
    finally:
        unit.send_signal(signal.SIGTERM)
        _, err = unit.communicate(timeout=60)
    assert unit.returncode == 0, err[-3000:]
    return err


def _unit_records(data_dir: Path, identity: DeviceIdentity) -> list[Any]:
    store = sqlite.create(sqlite.Config(), data_dir=data_dir, identity=identity,
                          clock=SystemClock())
    store.start()
    try:
        rows = store.records(limit=5000)
    finally:
        store.stop()
    return [verify_record(row.cose, identity.public_key) for row in rows]


def _answers(records: list[Any]) -> list[dict[str, Any]]:
    return [dict(r.body["details"]) for r in records
            if r.kind is Kind.EVENT and r.body["type"] == "command"]


@pytest.mark.slow
def test_commands_reach_a_sleeping_unit_and_every_forgery_is_refused(tmp_path: Path) -> None:
    srv = tmp_path / "srv"
    data_dir = tmp_path / "unit"
    identity = create_identity(data_dir)
    device = identity.device_id
    fingerprint = provision(srv, device, identity.public_key_hex)
    base = ["device", "command", "--dir", str(srv), "--id", device]
    # Sequence numbers 1-2 are taken by an old, answered command: the genuine ones are 3-8 and
    # a command signed with seq 2 that arrives after them is out of order.
    genuine = command_key.load_or_create(srv)
    _inject(srv, device, 2, _signed(genuine, device, 2, "old"), "old", answered=True)
    # Queued while the unit is off: they wait for its first upload.
    fieldcheck(*base, "checkin")
    fieldcheck(*base, "message", "Please call your officer today")
    fieldcheck(*base, "selftest")
    fieldcheck(*base, "offer-update", "https://updates.example/b.fcb", "a" * 64)
    fieldcheck(*base, "set-policy", "policy.location_interval_s=0.2")
    fieldcheck(*base, "set-policy", "sync.url=https://elsewhere.example")
    with open_sqlite(srv / DB_FILE).read() as tx:
        first = tx.commands(device)[1]  # the genuine checkin_now
    assert first.kind == "checkin_now" and first.seq == 3
    forged = _signed(Ed25519PrivateKey.generate(), device, 9, "forged")
    _inject(srv, device, 9, forged, "forged")
    _inject(srv, device, 10, _signed(genuine, "fc-notthisunit0000", 10, "elsewhere"), "elsewhere")
    _inject(srv, device, 11, _signed(genuine, device, 11, "stale", timedelta(hours=2)), "stale")
    _inject(srv, device, 12, _signed(genuine, device, 2, "late"), "late")  # 2 < highest, 8
    _inject(srv, device, 13, first.cose, "replay")  # the bytes of the checkin command again
    server = ServerProcess(srv)
    server.start()
    try:
        config = write_config(tmp_path, data_dir, f"https://127.0.0.1:{server.port}",
                              srv / tls.CERT_FILE, fingerprint)
        config.write_text(config.read_text().replace(
            "timeout_s = 5.0\n", f'timeout_s = 5.0\ncommand_key = "{srv / "command.pub"}"\n'))
        report = tmp_path / "report.jsonl"

        def genuine_answered() -> bool:
            states = _states(srv, device)
            return all(states.get(k) in ("done", "refused") for k in
                       ("checkin_now", "message", "selftest", "offer_update", "set_policy7",
                        "set_policy8"))

        _run_unit(config, report, genuine_answered)
        states = _states(srv, device)
        # A restart: the replayed copy is delivered again and must still not run.
        _run_unit(config, report, lambda: False, timeout_s=8.0)
    finally:
        server.stop()
    assert states["checkin_now"] == "done" and states["message"] == "done"
    assert states["selftest"] == "done" and states["offer_update"] == "refused"
    assert states["set_policy7"] == "done" and states["set_policy8"] == "refused"
    assert '"policy.location_interval_s": 0.2' in (data_dir / "remote_policy.json").read_text()
    records = _unit_records(data_dir, identity)
    reasons = {(a["id"], a["reason"]) for a in _answers(records)}
    assert {("forged", "wrong_key"), ("elsewhere", "other_device"), ("stale", "expired"),
            ("late", "out_of_order"), (first.id, "replayed"),
            (_id_of(records, "offer_update"), "not_supported")} <= reasons
    changed = [r.body["details"] for r in records
               if r.kind is Kind.EVENT and r.body["type"] == "config_change"]
    assert any(d.get("keys") == "policy.location_interval_s" for d in changed)
    assert any("sync.url" in str(a.get("detail")) for a in _answers(records)
               if a["reason"] == "not_allowed")
    remote = [r for r in records if r.kind is Kind.CHECKIN and r.body.get("trigger") == "remote"]
    assert len(remote) == 1, "checkin_now ran exactly once across two starts and a replay"
    replayed = [a for a in _answers(records) if a["id"] == first.id and a["reason"] == "replayed"]
    assert len(replayed) == 2, "the replayed copy was refused once in each run"
    selftest = next(a for a in _answers(records) if a["kind"] == "selftest")
    assert selftest["store_ok"] is True and "gps_state" in selftest
    assert selftest["supervisor_ok"] is True and selftest["storage_ok"] is True
    shown = report.read_text()
    assert "Please call your officer today" in shown


def _id_of(records: list[Any], kind: str) -> str:
    return next(a["id"] for a in _answers(records) if a.get("kind") == kind)
