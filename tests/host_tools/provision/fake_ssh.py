"""The unit's sshd, played by a local shell: the ``ssh`` on PATH logs each call, then runs it."""

import os
from pathlib import Path

import pytest


def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a logging ``ssh`` first on PATH; returns the log (one line of arguments per call)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ssh.log"
    (bin_dir / "ssh").write_text(f'#!/bin/sh\necho "$@" >> {log}\nwhile [ "$1" != "--" ]; do '
                                 'shift; done; shift\nexec sh -c "$1"\n')
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return log
