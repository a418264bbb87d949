"""``fieldcheck-device update ...`` through the real CLI: output, exit codes, hints."""

import json

import pytest

from firmware.cli import main
from tests.fieldcheck_protocol.bundle_factory import Keys
from tests.firmware.update.update_factory import root_key_file, write_bundle


@pytest.fixture
def keys():
    return Keys()


def _argv(tmp_path, keys, *verb):
    return ["update", *verb, "--root", str(tmp_path / "unit"), "--root-key",
            str(root_key_file(tmp_path, keys)), "--service", "none", "--setup", "files"]


def _fresh(tmp_path, keys, counter):
    """A bundle valid by the real clock (the factory's dates are a fixed day)."""
    return write_bundle(tmp_path, keys, counter, days=3650)


def test_install_status_and_json(tmp_path, keys, capsys):
    bundle = _fresh(tmp_path, keys, 3)
    assert main([*_argv(tmp_path, keys, "install"), str(bundle)]) == 0
    assert "installed 0.3.0 (counter 3) in slot a" in capsys.readouterr().out
    assert main(_argv(tmp_path, keys, "status")) == 0
    text = capsys.readouterr().out
    assert "current slot  a" in text and "counter 3" in text and "slot a *" in text
    assert main([*_argv(tmp_path, keys, "status"), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["current"] == "a" and status["state"]["counter"] == 3
    assert status["journal"] is None


def test_a_refusal_is_one_line_with_what_to_do_and_exit_2(tmp_path, keys, capsys):
    assert main([*_argv(tmp_path, keys, "install"), str(_fresh(tmp_path, keys, 3))]) == 0
    capsys.readouterr()
    assert main([*_argv(tmp_path, keys, "install"), str(_fresh(tmp_path, keys, 2))]) == 2
    err = capsys.readouterr().err
    assert "error: rollback: bundle 0.2.0 has counter 2, this unit is at 3" in err
    assert "higher --counter" in err and "Traceback" not in err


def test_verify_changes_nothing(tmp_path, keys, capsys):
    assert main([*_argv(tmp_path, keys, "verify"), str(_fresh(tmp_path, keys, 3))]) == 0
    assert "ok: 0.3.0, counter 3, root v1" in capsys.readouterr().out
    assert not (tmp_path / "unit" / "current").exists()


def test_a_missing_root_key_says_where_to_get_it(tmp_path, keys, capsys):
    argv = _argv(tmp_path, keys, "install")
    argv[argv.index("--root-key") + 1] = str(tmp_path / "nope.pub")
    assert main([*argv, str(_fresh(tmp_path, keys, 3))]) == 2
    assert "fieldcheck bundle keygen" in capsys.readouterr().err


def test_consume_removes_the_queued_file_even_when_refused(tmp_path, keys, capsys):
    bundle = write_bundle(tmp_path, Keys(), 3, days=3650)
    assert main([*_argv(tmp_path, keys, "install"), "--consume", str(bundle)]) == 2
    assert not bundle.exists()


def test_recover_with_nothing_to_do(tmp_path, keys, capsys):
    assert main(_argv(tmp_path, keys, "recover")) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_the_slots_root_and_root_key_default_to_the_unit_config(tmp_path, keys, capsys):
    # The daemon waits for the journal under [device] update_root: the installer must use it too.
    unit_config = tmp_path / "device.toml"
    unit_config.write_text(f'[device]\ndata_dir = "{tmp_path / "data"}"\n'
                           f'update_root = "{tmp_path / "slots"}"\n'
                           f'bundle_root_key = "{root_key_file(tmp_path, keys)}"\n')
    bundle = _fresh(tmp_path, keys, 4)
    assert main(["update", "install", str(bundle), "--config", str(unit_config),
                 "--service", "none", "--setup", "files"]) == 0
    assert (tmp_path / "slots" / "current").is_symlink()
    assert main(["update", "status", "--config", str(unit_config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["current"] == "a"


def test_a_broken_config_does_not_stop_a_recovery(tmp_path, capsys):
    unit_config = tmp_path / "device.toml"
    unit_config.write_text("[device\nnot toml")
    assert main(["update", "recover", "--config", str(unit_config),
                 "--root", str(tmp_path / "unit"), "--service", "none"]) == 0
    captured = capsys.readouterr()
    assert "nothing to recover" in captured.out
    assert "using the default slots root and root key" in captured.err
