"""Child processes of the bench (simulator, daemon, server), started and read line by line."""

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Child:
    """A child process whose stdout lines are read on a thread into a queue."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.stderr_tail: list[str] = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))
            del self.stderr_tail[:-40]

    def first_line(self, timeout: float) -> str:
        """The first stdout line, or an error naming the child and its last stderr lines."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            raise RuntimeError(f"{self.name} printed nothing: {self.describe_failure()}")
        return line

    def describe_failure(self) -> str:
        """Exit status and the last lines it wrote to stderr."""
        code = self.proc.poll()
        status = "still running" if code is None else f"exit code {code}"
        tail = "\n    ".join(self.stderr_tail[-10:]) or "(no stderr)"
        return f"{status}\n    {tail}"

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def run_checked(argv: Sequence[str], timeout: float = 120) -> str:
    """Run a short command from the repository root; its stdout, or an error with its stderr."""
    done = subprocess.run(list(argv), capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[2:])} failed ({done.returncode}):\n{done.stderr[-1500:]}")
    return done.stdout


def python_module(module: str, *args: str) -> list[str]:
    """argv to run ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
