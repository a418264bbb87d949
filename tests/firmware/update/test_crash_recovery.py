"""kill -9 of the installer at every step and at random moments, then recovery: the unit is
always on one complete slot, and its kept counter matches the slot it is on."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fieldcheck_protocol.bundle_factory import FILES, NOW, Keys
from tests.firmware.update.test_installer import assert_on_one_complete_slot
from tests.firmware.update.update_factory import (
    installer,
    root_key_file,
    stop_daemon,
    write_bundle,
)

HARNESS = Path(__file__).with_name("crash_install.py")
PROJECT = Path(__file__).resolve().parents[3]
STEPS = ("verify", "stage", "setup", "switch", "restart", "health", "commit", "rollback")


def _run(tmp_path: Path, keys: Keys, bundle: Path, kill_at: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, str(HARNESS), str(tmp_path / "unit"),
                             str(root_key_file(tmp_path, keys)), str(bundle), kill_at,
                             NOW.isoformat()], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _check_recovered(tmp_path: Path, keys: Keys) -> str:
    unit = tmp_path / "unit"
    made = installer(tmp_path, keys)
    made.recover()
    stop_daemon(unit)
    assert made.slots.journal() is None
    name = assert_on_one_complete_slot(unit, keys)
    state = made.slots.state()
    assert (state.slot, state.counter) == (name, {"a": 1, "b": 2}[name])
    # and the unit can still be updated afterwards
    assert made.install(write_bundle(tmp_path, keys, 3, "after")).outcome == "installed"
    stop_daemon(unit)
    return name


def _first(tmp_path: Path, keys: Keys) -> None:
    assert installer(tmp_path, keys).install(write_bundle(tmp_path, keys, 1, "first")).slot == "a"
    stop_daemon(tmp_path / "unit")


@pytest.mark.parametrize("step", STEPS[:-1])
def test_kill_at_each_step_then_recovery(tmp_path, step):
    keys = Keys()
    _first(tmp_path, keys)
    child = _run(tmp_path, keys, write_bundle(tmp_path, keys, 2, "second"), step)
    assert child.wait(timeout=60) == -signal.SIGKILL
    # every kill lands before the commit is kept, so the unit is back on slot a
    assert _check_recovered(tmp_path, keys) == "a"


def test_kill_during_the_rollback_of_a_sick_bundle(tmp_path):
    keys = Keys()
    _first(tmp_path, keys)
    child = _run(tmp_path, keys, write_bundle(tmp_path, keys, 2, "sick", "crash"), "rollback")
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert _check_recovered(tmp_path, keys) == "a"


@pytest.mark.slow
def test_kill_at_random_moments_then_recovery(tmp_path):
    seed = int(os.environ.get("FIELDCHECK_CRASH_SEED", time.time_ns() % 100000))
    rng = random.Random(seed)
    keys = Keys()
    big = {**FILES, "models/big.bin": rng.randbytes(6 << 20)}  # so staging takes a while
    landed = {"a": 0, "b": 0}
    for round_no in range(8):
        folder = tmp_path / f"round{round_no}"
        folder.mkdir()
        _first(folder, keys)
        second = folder / "second.tar"
        from tests.fieldcheck_protocol.bundle_factory import bundle_bytes
        second.write_bytes(bundle_bytes(keys, counter=2, version="0.2.0", files={
            **big, "config/device.toml": b"# second\n[device]\n"}))
        child = _run(folder, keys, second, "none")
        time.sleep(rng.uniform(0.0, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        landed[_check_recovered(folder, keys)] += 1
    print(f"seed {seed}: recovered onto {landed}")
    assert sum(landed.values()) == 8
