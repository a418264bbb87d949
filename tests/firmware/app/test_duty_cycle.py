"""The real daemon under the duty_cycled policy: one wake, then a timed sleep from the MCU."""

import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware import config
from firmware.app.daemon import SLEEP_STATUS, Daemon
from firmware.supervisor.backends.sim import SimSupervisor
from firmware.ui.backends import report
from firmware.update.registry import PENDING_BUNDLE
from tests.firmware.app.test_safe_mode import signed_events, unit_toml


def duty_toml(data_dir: Path, slot: datetime, extra: str = "") -> str:
    policy = ('power = "duty_cycled"\nmin_awake_s = 0.3\nmax_awake_s = 1.0\n'
              'wake_interval_s = 7200\nhalt_command = []\n')
    return unit_toml(data_dir, policy=policy) + (
        f'[checkin]\nmode = "times"\ntimes = ["{slot:%H:%M}"]\n{extra}')


def run_one_wake(tmp_path: Path, text: str) -> tuple[Daemon, float]:
    path = tmp_path / "unit.toml"
    path.write_text(text)
    daemon = Daemon(config.load(path), report.create(report.Config(), io.StringIO()),
                    health_interval_s=0.05)
    thread = threading.Thread(target=daemon.run, daemon=True)
    began = time.monotonic()
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():
        daemon.request_stop()
        thread.join(timeout=30)
        pytest.fail("the duty-cycled daemon did not end its wake by itself")
    return daemon, time.monotonic() - began


def test_a_wake_ends_with_a_timed_shutdown_request_before_the_next_slot(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="firmware.supervisor.backends.sim")
    slot = (datetime.now(UTC) + timedelta(minutes=40)).replace(second=0, microsecond=0)
    data_dir = tmp_path / "data"
    daemon, took = run_one_wake(tmp_path, duty_toml(data_dir, slot))
    assert daemon.duty is not None and daemon.duty.plan is not None
    plan = daemon.duty.plan
    expected = (slot - datetime.now(UTC)).total_seconds() - 60  # one boot lead ahead
    assert plan.reason == "checkin_slot" and abs(plan.wake_after_s - expected) < took + 5
    assert f"power cut in 60 s, wake after {plan.wake_after_s} s" in caplog.text
    events = signed_events(data_dir)
    kinds = [e["type"] for e in events]
    power = next(e["details"] for e in events if e["type"] == "power")
    assert power["wake_after_s"] == plan.wake_after_s and power["wake_for"] == "checkin_slot"
    assert power["gave_up_on"] == "gps_fix"  # the GPS port is closed: no fix this wake
    assert 1.0 <= power["awake_s"] < took
    # The power event (the promise of the wake) comes before the shutdown record.
    assert kinds.index("power") < kinds.index("shutdown")
    shutdown = next(e["details"] for e in events if e["type"] == "shutdown")
    assert shutdown == {"reason": "duty_cycle"}


def test_always_on_never_asks_for_a_shutdown(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="firmware.supervisor.backends.sim")
    slot = datetime.now(UTC) + timedelta(minutes=40)
    text = duty_toml(tmp_path / "data", slot).replace('"duty_cycled"', '"always_on"')
    path = tmp_path / "unit.toml"
    path.write_text(text)
    daemon = Daemon(config.load(path), report.create(report.Config(), io.StringIO()),
                    health_interval_s=0.05)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    time.sleep(2.0)
    assert thread.is_alive()
    daemon.request_stop()
    thread.join(timeout=30)
    assert daemon.duty is None and "power cut" not in caplog.text


def test_duty_cycled_is_the_default_power_policy(tmp_path: Path) -> None:
    cfg = config.from_mapping({"camera": {"type": "replay", "folder": str(tmp_path)}}, "test")
    assert cfg.policy.power == "duty_cycled"
    assert cfg.policy.halt_command == ("systemctl", "poweroff")


@pytest.mark.parametrize("cuts_power", [False, True])
def test_the_halt_command_runs_only_behind_a_supervisor_that_cuts_power(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cuts_power: bool) -> None:
    # A simulated supervisor cannot cut power: halting would turn off the bench machine.
    monkeypatch.setattr(SimSupervisor, "cuts_power", cuts_power)
    marker = tmp_path / "halted"
    slot = datetime.now(UTC) + timedelta(minutes=40)
    text = duty_toml(tmp_path / "data", slot).replace(
        "halt_command = []", f'halt_command = ["touch", "{marker}"]')
    daemon, _ = run_one_wake(tmp_path, text)
    assert daemon.duty is not None and daemon.duty.plan is not None
    assert marker.exists() is cuts_power


def test_with_location_only_with_check_ins_a_wake_does_not_wait_for_a_fix(tmp_path: Path) -> None:
    slot = datetime.now(UTC) + timedelta(minutes=40)
    text = duty_toml(tmp_path / "data", slot).replace(
        "halt_command = []", "halt_command = []\nlocation_interval_s = 0")
    daemon, _ = run_one_wake(tmp_path, text)
    assert daemon.duty is not None and daemon.duty.plan is not None
    power = next(e["details"] for e in signed_events(tmp_path / "data") if e["type"] == "power")
    assert "gave_up_on" not in power and power["awake_s"] < 1.0  # max_awake_s is 1.0
    assert config.load(tmp_path / "unit.toml").policy.location_interval_s == 0


def test_the_receiver_sleeps_in_backup_power_and_the_next_wake_measures_a_hot_start(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    slot = datetime.now(UTC) + timedelta(minutes=40)
    gps = (f'[gps]\ntype = "sim"\nrate_hz = 10\ncold_ttff_s = 2.0\nhot_ttff_s = 0.0\n'
           f'backup_file = "{tmp_path / "gps-backup.json"}"\n')
    text = duty_toml(data_dir, slot).replace('[gps]\ntype = "tcp"\nport = 9\n', gps).replace(
        "max_awake_s = 1.0", "max_awake_s = 20.0")
    assert 'type = "sim"\nrate_hz' in text
    run_one_wake(tmp_path, text)
    run_one_wake(tmp_path, text)
    powers = [e["details"] for e in signed_events(data_dir) if e["type"] == "power"]
    cold, hot = powers
    assert cold["gps_standby"] is True and hot["gps_standby"] is True
    assert "gave_up_on" not in cold and "gave_up_on" not in hot  # both got their fix
    assert cold["ttff_s"] >= 2.0 > hot["ttff_s"]  # measured at every wake, signed


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every sd_notify datagram the daemon sends, read as they come (the queue is short)."""
    path = str(tmp_path / "notify")
    got: list[str] = []
    done = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(0.05)

        def drain() -> None:
            while not done.is_set():
                try:
                    got.append(server.recv(4096).decode())
                except TimeoutError:
                    continue

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        yield got
        done.set()
        reader.join(timeout=5)


def test_a_wake_that_ends_in_a_sleep_says_so_to_systemd(tmp_path: Path,
                                                       notify: list[str]) -> None:
    slot = datetime.now(UTC) + timedelta(minutes=40)
    daemon, _ = run_one_wake(tmp_path, duty_toml(tmp_path / "data", slot))
    assert daemon.duty is not None and daemon.duty.plan is not None
    time.sleep(0.2)  # the last datagrams are read
    sent = "\n".join(notify)
    assert f"STATUS={SLEEP_STATUS} for {daemon.duty.plan.wake_after_s} s" in sent
    assert sent.index("READY=1") < sent.index(SLEEP_STATUS) < sent.index("STOPPING=1")


def test_a_wake_waits_while_an_offered_update_is_queued_for_the_installer(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pending = data_dir / PENDING_BUNDLE
    pending.parent.mkdir(parents=True)
    pending.write_bytes(b"a verified bundle")
    slot = datetime.now(UTC) + timedelta(minutes=40)
    text = duty_toml(data_dir, slot).replace(
        "halt_command = []", "halt_command = []\nlocation_interval_s = 0").replace(
        "max_awake_s = 1.0", "max_awake_s = 20.0")
    threading.Timer(1.5, pending.unlink).start()  # the installer takes it
    daemon, took = run_one_wake(tmp_path, text)
    assert daemon.duty is not None and daemon.duty.plan is not None
    power = next(e["details"] for e in signed_events(data_dir) if e["type"] == "power")
    assert 1.5 <= power["awake_s"] < 20.0 and "gave_up_on" not in power  # waited, then slept


def test_a_wake_stays_up_while_an_install_is_under_way(tmp_path: Path) -> None:
    # A technician's `update install` restarts the daemon, then health-checks it: a wake that
    # slept through that check would have the MCU cut power and the good bundle rolled back.
    journal = tmp_path / "opt" / "journal.json"
    journal.parent.mkdir()
    journal.write_text('{"phase": "trial"}')
    data_dir = tmp_path / "data"
    slot = datetime.now(UTC) + timedelta(minutes=40)
    text = duty_toml(data_dir, slot).replace(  # the slots root is the unit's config, not fixed
        f'data_dir = "{data_dir}"\n', f'data_dir = "{data_dir}"\nupdate_root = "{journal.parent}"\n'
    ).replace(
        "halt_command = []", "halt_command = []\nlocation_interval_s = 0").replace(
        "max_awake_s = 1.0", "max_awake_s = 20.0")
    threading.Timer(1.5, journal.unlink).start()  # the installer commits
    daemon, _took = run_one_wake(tmp_path, text)
    assert daemon.duty is not None and daemon.duty.plan is not None
    power = next(e["details"] for e in signed_events(data_dir) if e["type"] == "power")
    assert 1.5 <= power["awake_s"] < 20.0 and "gave_up_on" not in power
