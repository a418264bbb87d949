"""hardware/mcu type-checks against the MicroPython rp2 stubs, and CPython-only code would not."""

import importlib.util
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "typecheck_mcu", REPO / "hardware" / "typecheck_mcu.py"
)
assert spec and spec.loader
typecheck_mcu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(typecheck_mcu)

pytest.importorskip("mypy")


def test_mcu_code_type_checks_against_micropython_stubs() -> None:
    status, report = typecheck_mcu.typecheck()
    assert status == 0, report


def test_cpython_only_code_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prove the check is against MicroPython, not CPython: a CPython-only module must fail.
    scratch = tmp_path / "mcu"
    shutil.copytree(REPO / "hardware" / "mcu", scratch)
    (scratch / "cpython_only.py").write_text(
        '"""Uses CPython-only names."""\n\nimport dataclasses\nimport time\n\n\n'
        "def now() -> float:\n    return time.perf_counter_ns() / dataclasses.MISSING\n"
    )
    monkeypatch.setattr(typecheck_mcu, "MCU_DIR", scratch)
    monkeypatch.setattr(typecheck_mcu, "CONFIG", scratch / "mypy.ini")
    status, report = typecheck_mcu.typecheck()
    assert status != 0
    assert "cpython_only.py" in report
