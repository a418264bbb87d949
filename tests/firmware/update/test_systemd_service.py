"""The systemd service manager reads ``systemctl show`` right: a stand-in systemctl on PATH
answers with a scripted sequence of states."""

import os
import stat

import pytest

from firmware.update.backends.systemd import Config, SystemdService


@pytest.fixture
def systemctl(tmp_path, monkeypatch):
    """Write the states ``systemctl show`` answers in turn; calls are logged to calls.log."""
    script = tmp_path / "systemctl"

    def answer(*states: str) -> None:
        for number, state in enumerate(states):
            (tmp_path / f"state{number}").write_text(state.replace(";", "\n") + "\n")
        script.write_text(f"""#!/bin/sh
echo "$@" >> {tmp_path}/calls.log
[ "$1" = show ] || exit 0
n=$(cat {tmp_path}/n 2>/dev/null || echo 0)
f={tmp_path}/state$n
[ -f "$f" ] || f={tmp_path}/state{len(states) - 1}
cat "$f"
echo $((n + 1)) > {tmp_path}/n
""")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)

    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return answer


class Ticks:
    """A clock the service's sleeps advance."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _service() -> tuple[SystemdService, Ticks]:
    ticks = Ticks()
    return SystemdService(Config("fieldcheck-device.service", settle_s=2.0), ticks.sleep,
                          lambda: ticks.now), ticks


RUNNING = "ActiveState=active;SubState=running;StatusText=device fc-x: running;NRestarts=0"


def test_running_and_settled_is_healthy(systemctl, tmp_path):
    systemctl("ActiveState=activating;SubState=start;StatusText=;NRestarts=0", RUNNING)
    service, _ = _service()
    service.restart()
    health = service.wait_healthy(30)
    assert health.ok and "running" in health.detail
    assert (tmp_path / "calls.log").read_text().startswith("restart fieldcheck-device.service")


def test_safe_mode_is_unhealthy_at_once(systemctl):
    systemctl("ActiveState=active;SubState=running;StatusText=SAFE MODE: model: missing;"
              "NRestarts=0")
    health = _service()[0].wait_healthy(30)
    assert not health.ok and "safe mode" in health.detail


def test_a_restart_loop_never_settles(systemctl):
    states = [RUNNING.replace("NRestarts=0", f"NRestarts={n // 2}") for n in range(200)]
    systemctl(*states)
    health = _service()[0].wait_healthy(20)
    assert not health.ok and "not healthy within 20 s" in health.detail


def test_a_failed_unit_is_unhealthy(systemctl):
    systemctl("ActiveState=failed;SubState=failed;StatusText=;NRestarts=3")
    health = _service()[0].wait_healthy(5)
    assert not health.ok and "failed/failed" in health.detail
