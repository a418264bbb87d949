"""`-v` after a sub-command; `identity show` without a key names the init for the same unit."""

from pathlib import Path

import pytest

from firmware import cli


@pytest.mark.parametrize("argv", [
    ["-v", "identity", "show"], ["identity", "-v", "show"], ["identity", "show", "-v"],
    ["config", "schema", "--verbose"], ["-v", "config", "schema", "-v"],
])
def test_verbose_anywhere(argv: list[str]) -> None:
    assert cli.build_parser().parse_args(argv).verbose is True


def test_no_verbose_is_false() -> None:
    assert cli.build_parser().parse_args(["identity", "show"]).verbose is False


def test_show_without_a_key_suggests_init_with_the_given_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "unit 7"
    assert cli.main(["identity", "show", "--data-dir", str(data_dir), "-v"]) == 2
    err = capsys.readouterr().err
    assert f"fieldcheck-device identity init --data-dir '{data_dir}'" in err
    assert "Traceback" not in err


def test_show_after_init_on_that_data_dir_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["identity", "init", "--data-dir", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["identity", "show", "--data-dir", str(tmp_path)]) == 0
    assert "device_id: " in capsys.readouterr().out


@pytest.mark.parametrize("limit", ["-1", "0", "many"])
def test_records_list_refuses_a_limit_that_is_not_positive(
    limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["records", "list", "--limit", limit])
    assert exited.value.code == 2
    assert "--limit" in capsys.readouterr().err
