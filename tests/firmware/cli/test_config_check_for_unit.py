"""`config check --for-unit`: a unit's file checked on a laptop lists what the unit must have."""

from pathlib import Path

import pytest

from firmware import cli, config

MISSING = ("picamera2", "ai_edge_litert", "tflite_runtime")
UNIT_TOML = """
[camera]
type = "picamera2"
[face]
models_dir = "{models}"
[checkin]
mode = "times"
"""


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine lacks the unit's camera stack and TFLite runtimes, whatever is installed."""
    real = config.importlib.util.find_spec
    monkeypatch.setattr(config.importlib.util, "find_spec",
                        lambda name, *a: None if name in MISSING else real(name, *a))


@pytest.fixture
def unit_file(tmp_path: Path) -> Path:
    path = tmp_path / "unit.toml"
    path.write_text(UNIT_TOML.format(models=tmp_path / "not-here"))
    return path


@pytest.mark.usefixtures("laptop")
def test_without_the_flag_the_laptop_refuses_the_units_file(
    unit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["config", "check", str(unit_file)]) == 1
    out = capsys.readouterr().out
    assert "needs picamera2, which is not installed" in out and "face.runtime" in out


@pytest.mark.usefixtures("laptop")
def test_for_unit_validates_and_lists_what_the_unit_must_have(
    unit_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["config", "check", "--for-unit", str(unit_file)]) == 0
    out = capsys.readouterr().out
    assert "ok for a unit" in out
    assert "runtimes the unit needs: serial, sqlite3, " in out and "picamera2" in out
    assert "ai_edge_litert|tflite_runtime" in out
    must = out.split("the unit must have")[1]
    assert "runtime picamera2 ([camera] type = 'picamera2'): sudo apt install" in must
    assert "runtime ai_edge_litert or tflite_runtime (face.runtime)" in must
    assert f"file {tmp_path / 'not-here' / 'manifest.json'} (face.models_dir" in must


@pytest.mark.usefixtures("laptop")
def test_for_unit_still_fails_on_a_wrong_value(
    unit_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unit_file.write_text(unit_file.read_text().replace('"times"', '"sometimes"')
                         + '[gps]\nbaudrate = "fast"\n')
    assert cli.main(["config", "check", "--for-unit", str(unit_file)]) == 1
    out = capsys.readouterr().out
    assert "2 problems" in out and "checkin.mode" in out and "gps.baudrate" in out
    assert "runtime picamera2" in out  # still says what the unit needs


def test_validation_keeps_run_strict() -> None:
    strict = config.validate_mapping({"gps": {"type": "replay"}}, "t")
    assert not strict.ok and not strict.unit_needs
    relaxed = config.validate_mapping({"gps": {"type": "replay"}}, "t", for_unit=True)
    assert [p.where for p in relaxed.problems] == ["gps.path"]  # not a unit-only lack
