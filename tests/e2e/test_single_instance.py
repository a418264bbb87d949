"""Two real daemons on one data directory: the second exits at once, naming the first's pid."""

import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def daemon(config: Path, report: Path) -> subprocess.Popen[str]:
    """``fieldcheck-device run`` as a real process."""
    return subprocess.Popen([sys.executable, "-m", "firmware", "run", "--config", str(config),
                             "--report", str(report)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_second_daemon_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "unit"
    (tmp_path / "frames").mkdir()
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\ndata_dir = "{data_dir}"\n[policy]\npower = "always_on"\n'
                      '[gps]\ntype = "tcp"\nport = 9\n'
                      '[supervisor]\ntype = "sim"\n'
                      f'[camera]\ntype = "replay"\nfolder = "{tmp_path / "frames"}"\n')
    first = daemon(config, tmp_path / "first.jsonl")
    try:
        deadline = time.monotonic() + 60
        while '"t": "ready"' not in _read(tmp_path / "first.jsonl"):
            assert first.poll() is None, first.communicate()[1]
            assert time.monotonic() < deadline, "the first daemon never got ready"
            time.sleep(0.1)
        second = daemon(config, tmp_path / "second.jsonl")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        assert f"pid {first.pid}" in err and "in use" in err and "Traceback" not in err
        assert '"t": "ready"' not in _read(tmp_path / "second.jsonl")
        assert first.poll() is None, "the first daemon must not be disturbed"
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
