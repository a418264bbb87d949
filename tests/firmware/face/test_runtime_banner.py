"""LiteRT's C++ INFO banner never reaches the user; what else the runtime says is logged."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.face.backends.runner import native_stderr_to_log
from tests.firmware.face.conftest import MODELS, REPO

BANNER = "Created TensorFlow Lite XNNPACK delegate"


def test_a_real_face_command_prints_no_runtime_banner(tmp_path: Path, images: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    if not (MODELS / "manifest.json").is_file():
        pytest.skip("models/manifest.json not present")
    out = tmp_path / "recording.json"
    command = [sys.executable, "-c", "import sys; from firmware.cli import main; "
               "sys.exit(main(sys.argv[1:]))", "face", "record", str(images / "obama.jpg"),
               "--out", str(out), "--models", str(MODELS)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "recorded 1 frame(s)" in done.stdout
    assert BANNER not in done.stderr and "INFO: Created" not in done.stderr
    assert "face engine ready" in done.stderr  # our own logging still reaches stderr


def test_native_lines_become_log_records_and_errors_stay_visible(
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.DEBUG, logger="firmware.face.backends.runner"):
        with native_stderr_to_log():
            os.write(2, f"INFO: {BANNER} for CPU.\nERROR: failed to map the model\n".encode())
    assert capfd.readouterr().err == ""  # nothing raw on the real stderr
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels[f"TFLite runtime: INFO: {BANNER} for CPU."] == logging.DEBUG
    assert levels["TFLite runtime: ERROR: failed to map the model"] == logging.WARNING
    os.write(2, b"after\n")  # fd 2 is the real stderr again
    assert capfd.readouterr().err == "after\n"
