"""The real commands in subprocesses: every problem at once, no tracebacks, export, the lock."""

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.export import decode_export, verify_export
from firmware.app.lock import InstanceLock
from firmware.core.supervisor_event import TamperEvent
from firmware.services.ledger import Ledger
from firmware.services.supervision import EventPump
from firmware.store.backends import sqlite
from firmware.store.identity import create_identity

REPO = Path(__file__).resolve().parents[3]


def device(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``fieldcheck-device ARGS`` as a real process."""
    return subprocess.run([sys.executable, "-m", "firmware", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, input=stdin)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(done.stderr.strip().splitlines()) >= 1


def test_config_check_lists_every_problem_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[device]\nlog_level = "LOUD"\n'
        '[policy]\nlocation_interval_s = -5\nsync_interval_s = "soon"\n'
        '[checkin]\ntimezone = "Mars/Olympus"\ntimes = ["25:00"]\nday_end = "8pm"\n'
        '[sync]\ntype = "https"\nurl = "http://x"\nfingerprint = "zz"\n'
        'server_cert = "/nonexistent.crt"\n'
        '[supervisor]\ntype = "sim"\nscript = ["x tamper"]\n[gps]\ntype = "replay"\n'
        '[camera]\ntype = "replay"\n[face]\nmodels_dir = "/nope"\n'
        '[ui]\ntype = "report"\npath = "/nope/r.jsonl"\n')
    done = device("config", "check", str(bad))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    for key in ("device.log_level", "policy.location_interval_s", "policy.sync_interval_s",
                "checkin.timezone", "checkin.times[0]", "checkin.day_end", "sync.url",
                "sync.fingerprint",
                "sync.server_cert", "supervisor.script[0]", "gps.path", "face.models_dir",
                "ui.path"):
        assert key in done.stdout, key
    assert "13 problems" in done.stdout  # one per key above, nothing else


def test_bad_input_gives_one_line_not_a_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "pairs.csv"
    empty.write_text("file_x,file_y,decision\n")
    cases = [
        ("config", "check", str(tmp_path / "missing.toml")),
        ("config", "check", str(tmp_path)),  # a folder where a file is expected
        ("records", "list", "--data-dir", str(tmp_path / "nothing")),
        ("gps", "inspect", str(tmp_path / "missing.nmea")),
        ("face", "eval", "--pairs", str(empty), "--images", str(tmp_path)),
        ("face", "eval", "--pairs", str(empty), "--images", str(tmp_path),
         "--plot", str(tmp_path / "no" / "roc.png")),
        ("face", "eval", "--pairs", str(tmp_path), "--images", str(tmp_path)),  # a folder
        ("face", "record", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "no" / "r")),
        ("face", "verify", str(tmp_path / "missing.jpg"), "--data-dir", str(tmp_path)),
        ("identity", "show", "--data-dir", str(tmp_path / "nothing")),
        ("records", "export", "--out", str(tmp_path / "no" / "x.cbor")),
    ]
    for args in cases:
        no_traceback(device(*args))


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    log = tmp_path / "gps.nmea"
    line = "$GPGGA,120000.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*4A\r\n"
    log.write_text(line * 20000)
    shell = f"{sys.executable} -m firmware gps inspect {log} --allow-missing-checksum | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def _store_with_records(data_dir: Path, tampers: int = 1) -> str:
    identity = create_identity(data_dir)
    store = sqlite.create(sqlite.Config(), data_dir=data_dir, identity=identity,
                          clock=SystemClock())
    store.start()
    recorder = Ledger(store, identity, SystemClock())
    recorder.boot({"firmware": "test"})
    for _ in range(tampers):
        recorder.event("tamper", {"open": True})
    store.stop()
    return identity.device_id


def test_records_list_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    data_dir = tmp_path / "unit"
    _store_with_records(data_dir, tampers=1500)  # more than a pipe buffer of lines
    shell = (f"{sys.executable} -m firmware records list --json --limit 2000 "
             f"--data-dir {data_dir} | head -1")
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_records_export_cose_is_verifiable_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "unit"
    device_id = _store_with_records(data_dir)
    out = tmp_path / "export.cbor"
    done = device("records", "export", "--format", "cose", "--out", str(out),
                  "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    export = decode_export(out.read_bytes())
    assert export.device_id == device_id
    records = verify_export(export)
    assert [r.seq for r in records] == [0, 1]
    again = device("records", "export", "--out", str(out), "--data-dir", str(data_dir))
    assert again.returncode == 2 and "already exists" in again.stderr
    forced = device("records", "export", "--out", str(out), "--data-dir", str(data_dir),
                    "--force")
    assert forced.returncode == 0, forced.stderr


def test_the_link_callback_only_enqueues(tmp_path: Path) -> None:
    """Nothing writes SQLite on the MCU-link thread: put() returns before the store is used."""
    release = threading.Event()
    writers: list[str] = []

    def consumer(event: object) -> None:
        release.wait(10)
        writers.append(threading.current_thread().name)

    pump = EventPump([consumer])
    pump.start()
    started = time.monotonic()
    pump.put(TamperEvent(datetime.now(UTC), strap_open=True, mcu_uptime_ms=1))  # link thread
    assert time.monotonic() - started < 0.5 and writers == []
    release.set()
    pump.stop()  # delivers what is queued first
    assert writers == ["supervisor-events"]


def test_a_second_process_on_one_data_dir_is_refused_naming_the_holder(tmp_path: Path) -> None:
    data_dir = tmp_path / "unit"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from firmware.app.lock import InstanceLock; "
         f"InstanceLock(__import__('pathlib').Path({str(data_dir)!r}), 'daemon').acquire(); "
         "print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        done = device("identity", "init", "--data-dir", str(data_dir))
        no_traceback(done)
        assert f"pid {holder.pid}" in done.stderr and "in use" in done.stderr
    finally:
        holder.kill()
        holder.wait()
    with InstanceLock(data_dir, "test"):  # the kernel dropped it with the holder
        assert (data_dir / "fieldcheck.lock").read_text().startswith(str(os.getpid()))
