"""``fieldcheck provision --local`` end to end against the real HTTPS server in a tmp dir: the
key made on the unit, registered with a technician's token, the config written and checked, the
self-test passed on bench parts, the label printed; a second run changes nothing."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from host_tools import cli
from host_tools.provision import label, unit_config
from tests.e2e.serverproc import ServerProcess, fieldcheck
from tests.firmware.cli.gpsfeed import GpsFeed
from tests.firmware.cli.test_selftest_cli import camera_folder
from tests.host_tools.provision.fake_ssh import fake_ssh

MODELS = Path(__file__).resolve().parents[3] / "models"
DEVICE = f"{sys.executable} -m firmware"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    srv = tmp_path / "srv"
    fieldcheck("server", "init", "--dir", str(srv))
    (tmp_path / "pw").write_text("correct horse battery staple\n")
    fieldcheck("admin", "create", "--dir", str(srv), "--username", "admin", "--password-file",
               str(tmp_path / "pw"))
    fieldcheck("admin", "user", "add", "--dir", str(srv), "--username", "tech", "--role",
               "technician", "--password-file", str(tmp_path / "pw"))
    token = fieldcheck("admin", "token", "create", "--dir", str(srv), "--username", "tech",
                       "--name", "provision").strip()
    (tmp_path / "token").write_text(token + "\n")
    process = ServerProcess(srv)
    process.start()
    yield process, srv
    process.stop()


def base_config(tmp_path: Path) -> Path:
    path = tmp_path / "hardware.toml"
    path.write_text(
        f'[gps]\ntype = "serial"\nport = "{tmp_path / "gps0"}"\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera_folder(tmp_path)}"\n'
        f'[face]\ntype = "tflite"\nmodels_dir = "{MODELS}"\n'
        '[supervisor]\ntype = "sim"\n')
    return path


def provision(tmp_path: Path, port: int, *extra: str) -> int:
    srv = tmp_path / "srv"
    return cli.main([
        "provision", "--local", "--server", f"https://127.0.0.1:{port}",
        "--server-cert", str(srv / "server.crt"), "--command-key", str(srv / "command.pub"),
        "--token-file", str(tmp_path / "token"), "--etc", str(tmp_path / "etc"),
        "--data-dir", str(tmp_path / "data"), "--device-command", DEVICE,
        "--unit-config", str(tmp_path / "hardware.toml"), "--label", "bench unit 7",
        "--label-out", str(tmp_path / "label.png"), "--gps-wait", "8", *extra])


def lines_of(out: str) -> dict[str, str]:
    return {line.split("]")[0][1:]: line.split("] ", 1)[1]
            for line in out.splitlines() if line.startswith("[")}


@pytest.mark.slow
def test_provision_then_again_changes_nothing(tmp_path: Path, server, capsys) -> None:
    pytest.importorskip("ai_edge_litert")
    process, srv = server
    base_config(tmp_path)
    with GpsFeed(tmp_path / "gps0"):
        assert provision(tmp_path, process.port, "--checkins-per-day", "3") == 0
        first = capsys.readouterr().out
        steps = lines_of(first)
        assert steps["key"].startswith("created a new device key: device id fc-")
        device_id = steps["key"].split()[-1]
        assert steps["register"] == f"registered {device_id}"
        assert steps["config"].endswith("written; config check passed")
        assert steps["selftest"].startswith("passed ")
        assert steps["bundle"].startswith("skipped: no --bundle")
        assert (tmp_path / "label.png").read_bytes() == label.png(device_id)
        assert f"{device_id}  bench unit 7" in first and "█" in first  # the terminal QR
        listing = fieldcheck("device", "list", "--dir", str(srv))
        assert device_id in listing and "bench unit 7" in listing
        written = (tmp_path / "etc" / "device.toml").read_text()
        assert 'per_day = 3' in written and f"127.0.0.1:{process.port}" in written
        before = {p: p.read_bytes() for p in (tmp_path / "etc").iterdir()}

        assert provision(tmp_path, process.port, "--checkins-per-day", "3") == 0
        again = lines_of(capsys.readouterr().out)
        assert again["key"].startswith("kept the existing device key")
        assert again["register"] == f"already registered {device_id}"
        assert again["config"].startswith(f"{tmp_path / 'etc' / 'device.toml'} unchanged")
        assert again["selftest"].startswith("unchanged")
        assert again["files"].count("unchanged") == 2
        assert again["label"].endswith("unchanged")
        assert {p: p.read_bytes() for p in (tmp_path / "etc").iterdir()} == before

        # A different schedule is refused until asked for, then applied and re-tested.
        assert provision(tmp_path, process.port, "--checkins-per-day", "4") == 2
        err = capsys.readouterr().err
        assert "[config] FAILED" in err and "--force-step config" in err
        assert provision(tmp_path, process.port, "--checkins-per-day", "4",
                         "--force-step", "config") == 0
        forced = lines_of(capsys.readouterr().out)
        assert "replaced" in forced["config"] and forced["selftest"].startswith("passed")


def test_a_wrong_token_says_how_to_make_one(tmp_path: Path, server, capsys) -> None:
    process, _srv = server
    base_config(tmp_path)
    (tmp_path / "token").write_text("not-a-token\n")
    assert provision(tmp_path, process.port) == 2
    err = capsys.readouterr().err
    assert "[register] FAILED: the server refused the token (HTTP 401)" in err
    assert "fieldcheck admin token create" in err


def test_no_token_is_refused_before_anything_runs(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("FIELDCHECK_TOKEN", raising=False)
    code = cli.main(["provision", "--local", "--server", "https://x", "--server-cert", "c"])
    assert code == 2 and "no technician token given" in capsys.readouterr().err
    assert not (tmp_path / "etc").exists()


def test_the_config_is_stable_and_written_as_toml() -> None:
    import tomllib

    sections = unit_config.merge({"gps": {"port": "/dev/x"}, "sync": {"timeout_s": 5.0}},
                                 {"sync": {"url": "https://a", "remote_keys": ["a.b"]}})
    text = unit_config.render(sections)
    assert text == unit_config.render(sections)
    assert tomllib.loads(text) == {"gps": {"port": "/dev/x"},
                                   "sync": {"timeout_s": 5.0, "url": "https://a",
                                            "remote_keys": ["a.b"]}}


def test_over_ssh_every_command_goes_through_the_ssh_client(tmp_path: Path) -> None:
    from host_tools.provision.target import SshTarget

    # A stand-in `ssh` that runs the remote command with a local shell: what a unit's sshd does.
    shim = tmp_path / "ssh"
    shim.write_text('#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done; shift\nexec sh -c "$1"\n')
    shim.chmod(0o755)
    unit = SshTarget("pi@unit", ssh=str(shim))
    path = tmp_path / "etc" / "a file.txt"
    assert unit.read(path) is None
    unit.write(path, b"hello\n", 0o640)
    assert unit.read(path) == b"hello\n" and oct(path.stat().st_mode & 0o777) == "0o640"
    assert unit.run(["echo", "two words"]).out == "two words\n"
    assert subprocess.run([str(shim), "-o", "x", "h", "--", "exit 3"]).returncode == 3


@pytest.mark.slow
def test_the_bundle_is_installed_by_the_units_installer_once(tmp_path: Path, server,
                                                             capsys) -> None:
    from tests.fieldcheck_protocol.bundle_factory import Keys
    from tests.firmware.update.update_factory import root_key_file, write_bundle

    process, _srv = server
    base_config(tmp_path)
    keys = Keys()
    bundle = write_bundle(tmp_path, keys, counter=3)
    extra = ("--bundle", str(bundle), "--root-key", str(root_key_file(tmp_path, keys)),
             "--slots-root", str(tmp_path / "unit"), "--slot-setup", "files",
             "--force-step", "selftest")
    with GpsFeed(tmp_path / "gps0"):
        assert provision(tmp_path, process.port, *extra) == 0
        first = lines_of(capsys.readouterr().out)
        assert first["bundle"] == "installed 0.3.0 in slot a"
        assert (tmp_path / "etc" / "bundle-root.pub").is_file()
        assert provision(tmp_path, process.port, *extra) == 0
        assert lines_of(capsys.readouterr().out)["bundle"].startswith("unchanged: bundle ")


@pytest.mark.slow
def test_provision_over_ssh_runs_every_step_through_the_ssh_client(
        tmp_path: Path, server, capsys, monkeypatch) -> None:
    pytest.importorskip("ai_edge_litert")
    process, srv = server
    base_config(tmp_path)
    log = fake_ssh(tmp_path, monkeypatch)
    with GpsFeed(tmp_path / "gps0"):
        code = cli.main(["provision", "--ssh", "root@fc-unit-07", "--server",
                         f"https://127.0.0.1:{process.port}", "--server-cert",
                         str(srv / "server.crt"), "--token-file", str(tmp_path / "token"),
                         "--etc", str(tmp_path / "etc"), "--data-dir", str(tmp_path / "data"),
                         "--device-command", DEVICE, "--unit-config",
                         str(tmp_path / "hardware.toml"), "--label-out",
                         str(tmp_path / "label.png"), "--gps-wait", "8"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provisioning root@fc-unit-07" in out and lines_of(out)["selftest"].startswith("passed")
    calls = log.read_text().splitlines()
    assert all(call.startswith("-o BatchMode=yes root@fc-unit-07 --") for call in calls)
    assert any("identity init" in call for call in calls)
    assert (tmp_path / "etc" / "device.toml").is_file() and (tmp_path / "label.png").is_file()
