"""Run `fieldcheck` commands and the ingest server as real processes on loopback, for e2e tests."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from host_tools.cli import main; sys.exit(main())"
START_TIMEOUT_S = 30.0


def fieldcheck(*args: str) -> str:
    """Run one `fieldcheck` command to completion; returns its stdout, raises on failure."""
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"fieldcheck {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


class ServerProcess:
    """`fieldcheck server run` on 127.0.0.1; a restart keeps the first port."""

    def __init__(self, directory: Path, *extra: str) -> None:
        self.directory = directory
        self.extra = extra  # further `server run` options, e.g. ("--database", url)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        port_file = self.directory / "port"
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                ENTRY,
                "server",
                "run",
                "--dir",
                str(self.directory),
                "--port",
                str(self.port),
                "--port-file",
                str(port_file),
                *self.extra,
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "server.log").open("ab"),
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((self.directory / "server.log").read_text()[-2000:])
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        time.sleep(0.3)  # the socket is bound before the port file is written; let uvicorn start
        return self.port

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing beyond what was committed."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def provision(directory: Path, device_id: str, public_key_hex: str) -> str:
    """`server init` and `device register` as a technician runs them; returns the fingerprint."""
    out = fieldcheck("server", "init", "--dir", str(directory))
    fingerprint = next(
        line.split()[-1] for line in out.splitlines() if line.startswith("fingerprint:")
    )
    fieldcheck(
        "device",
        "register",
        "--dir",
        str(directory),
        "--id",
        device_id,
        "--public-key",
        public_key_hex,
        "--label",
        "e2e unit",
    )
    return fingerprint
