"""``fieldcheck bench --local`` end to end: a unit provisioned against the real HTTPS server in a
tmp dir, then GPS from the simulator over TCP, a check-in on the test photo, and the record read
back verified from the server; the unit's own config byte for byte as it was."""

from pathlib import Path

import pytest

from host_tools import cli
from host_tools.unit_bench.cli import table
from tests.firmware.cli.gpsfeed import GpsFeed
from tests.host_tools.provision.fake_ssh import fake_ssh
from tests.host_tools.provision.test_provision import DEVICE, base_config, provision
from tests.host_tools.provision.test_provision import server as server  # noqa: F401 - fixture


def bench(tmp_path: Path, *extra: str) -> int:
    return cli.main(["bench", "--local", "--server-dir", str(tmp_path / "srv"),
                     "--etc", str(tmp_path / "etc"), "--device-command", DEVICE,
                     "--gps-wait", "15", "--upload-time", "12", *extra])


def rows_of(out: str) -> dict[str, str]:
    return {line.split()[1]: line.split()[0] for line in out.splitlines()
            if line[:4] in ("PASS", "FAIL", "SKIP")}


@pytest.mark.slow
def test_bench_of_a_provisioned_unit_passes_and_leaves_its_config(
        tmp_path: Path, server, capsys) -> None:  # noqa: F811 - the fixture
    pytest.importorskip("ai_edge_litert")
    process, _srv = server
    base_config(tmp_path)
    with GpsFeed(tmp_path / "gps0"):
        assert provision(tmp_path, process.port) == 0
    capsys.readouterr()
    before = (tmp_path / "etc" / "device.toml").read_bytes()
    code = bench(tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out
    assert rows_of(out) == {name: "PASS" for name in ("unit-config", "bench-config", "gps",
                                                     "checkin", "upload", "server", "restore")}
    assert "verified on the server" in out and out.rstrip().endswith("bench passed")
    assert (tmp_path / "etc" / "device.toml").read_bytes() == before


def test_an_unprovisioned_unit_fails_with_what_to_do(tmp_path: Path, capsys) -> None:
    code = bench(tmp_path)
    out = capsys.readouterr().out
    assert code == 1
    rows = rows_of(out)
    assert rows["unit-config"] == "FAIL" and rows["gps"] == "SKIP" and rows["restore"] == "PASS"
    assert "-> provision the unit first: `fieldcheck provision`" in out
    assert out.rstrip().endswith("bench FAILED")


def test_the_table_marks_each_step_and_says_what_to_do() -> None:
    text = table("pi@unit", [("gps", False, "GPS: no sentences", "check the cable"),
                             ("checkin", None, "skipped after the failure above", "")])
    assert text.splitlines() == ["bench of pi@unit", "FAIL  gps      GPS: no sentences",
                                 "               -> check the cable",
                                 "SKIP  checkin  skipped after the failure above",
                                 "bench FAILED"]


def test_an_unreadable_photo_is_refused_before_anything_runs(tmp_path: Path, capsys) -> None:
    (tmp_path / "photo.jpg").write_text("not a picture")
    assert bench(tmp_path, "--photo", str(tmp_path / "photo.jpg")) == 2
    assert "cannot read the photo" in capsys.readouterr().err


def test_over_ssh_every_unit_command_goes_through_the_ssh_client(
        tmp_path: Path, capsys, monkeypatch) -> None:
    log = fake_ssh(tmp_path, monkeypatch)
    code = cli.main(["bench", "--unit", "pi@fc-unit-07", "--server-dir", str(tmp_path / "srv"),
                     "--etc", str(tmp_path / "etc"), "--device-command", DEVICE])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("bench of pi@fc-unit-07")
    assert rows_of(out)["unit-config"] == "FAIL" and rows_of(out)["restore"] == "PASS"
    calls = log.read_text().splitlines()
    assert calls and all(call.startswith("-o BatchMode=yes pi@fc-unit-07 --") for call in calls)
