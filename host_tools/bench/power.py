"""The ``power`` bench: real wake sessions of the duty-cycled daemon, and the days on one charge.

Each session is the real ``fieldcheck-device run`` process under the ``duty_cycled`` policy, with
the simulated supervisor, simulated GPS on a pty, the real store and the real HTTPS sync to a
throw-away ingest server. A session ends by itself when the daemon asks the supervisor for its
timed sleep; the bench measures the process's wall time (start to exit: the daemon's share of a
wake) and reads the signed ``power`` events that arrived on the server (time to first fix, the
sleep asked for). Awake seconds per day and the days on the reference 18650 follow from those
measurements and the figures in ``hardware/power/budget.py`` (boot time and currents: estimates),
worked out in :mod:`host_tools.bench.wake_figures`.
"""

import tempfile
from pathlib import Path

from host_tools.bench.demo import _provision, _pty_path, _server_init, _wait_for_port
from host_tools.bench.processes import Child, python_module
from host_tools.bench.wake_figures import CHECKINS_PER_DAY as CHECKINS_PER_DAY
from host_tools.bench.wake_figures import Wake
from host_tools.bench.wake_figures import budget_module as budget_module
from host_tools.bench.wake_figures import figures as figures
from host_tools.bench.wake_session import power_events, run_wake

SESSION_TIMEOUT_S = 240.0


def run_sessions(count: int) -> list[Wake]:
    """``count`` real wake sessions, one after the other, against one server and one unit."""
    with tempfile.TemporaryDirectory(prefix="fieldcheck-power-") as tmp:
        workdir = Path(tmp)
        server_dir, data_dir = workdir / "server", workdir / "device"
        fingerprint = _server_init(server_dir)
        server = Child("fieldcheck server", python_module(
            "host_tools", "server", "run", "--dir", str(server_dir), "--port", "0",
            "--port-file", str(workdir / "port")))
        sim: Child | None = None
        try:
            port = _wait_for_port(workdir / "port", server)
            device_id = _provision(data_dir, server_dir)
            sim = Child("gps-sim", python_module(
                "host_tools", "gps-sim", "--pty", "--scenario", "walk", "--rate", "1",
                "--seed", "3", "--duration", str(count * SESSION_TIMEOUT_S)))
            config = _config(workdir, data_dir, _pty_path(sim), port, server_dir, fingerprint)
            walls = [run_wake(config, SESSION_TIMEOUT_S) for _ in range(count)]
            events = power_events(server_dir, device_id)
        finally:
            if sim is not None:
                sim.stop()
            server.stop()
    if len(events) < count:
        raise RuntimeError(f"{count} wakes ran but {len(events)} power events reached the server")
    return [Wake(wall, float(e["awake_s"]), int(e["wake_after_s"]),
                 float(e["ttff_s"]) if "ttff_s" in e else None)
            for wall, e in zip(walls, events[-count:], strict=True)]


def _config(workdir: Path, data_dir: Path, pty: str, port: int, server_dir: Path,
            fingerprint: str) -> Path:
    """The unit's config: the defaults, plus the duty_cycled policy and the bench's links."""
    config = workdir / "device.toml"
    config.write_text(
        f'[device]\ndata_dir = "{data_dir}"\n\n'
        '[policy]\npower = "duty_cycled"\nhalt_command = []\n\n'
        f'[gps]\ntype = "serial"\nport = "{pty}"\nbaudrate = 9600\n\n'
        f'[sync]\ntype = "https"\nurl = "https://127.0.0.1:{port}"\n'
        f'server_cert = "{server_dir / "server.crt"}"\nfingerprint = "{fingerprint}"\n\n'
        '[supervisor]\ntype = "sim"\n\n'
        f'[camera]\ntype = "replay"\nfolder = "{workdir}"\n'
    )
    return config


