"""``fieldcheck-device selftest`` on bench parts: simulated GPS on a pty, the replay camera, the
real models, the simulated supervisor and a real HTTPS server; a signed ``selftest`` event."""

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware import cli
from firmware.store.backends import sqlite
from firmware.store.identity import DeviceIdentity, create_identity
from tests.e2e.serverproc import ServerProcess, provision
from tests.firmware.cli.gpsfeed import GpsFeed

MODELS = Path(__file__).resolve().parents[3] / "models"


def camera_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "camera"
    folder.mkdir()
    y, x = np.mgrid[0:240, 0:320]
    picture = np.stack([(x * 0.7) % 256, (y * 0.9) % 256, ((x + y) * 0.3) % 256], -1)
    Image.fromarray(picture.astype(np.uint8)).save(folder / "a.png")
    return folder


def write_config(tmp_path: Path, sync: str = "", script: str = "[]") -> Path:
    path = tmp_path / "device.toml"
    path.write_text(
        f'[device]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[gps]\ntype = "serial"\nport = "{tmp_path / "gps0"}"\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera_folder(tmp_path)}"\n'
        f'[face]\ntype = "tflite"\nmodels_dir = "{MODELS}"\n'
        f'[supervisor]\ntype = "sim"\nscript = {script}\n' + sync)
    return path


def selftest(config: Path, capsys: pytest.CaptureFixture[str],
             gps_wait: float = 8) -> tuple[int, dict]:
    code = cli.main(["selftest", "--config", str(config), "--json", "--gps-wait", str(gps_wait),
                     "--link-wait", "1"])
    return code, json.loads(capsys.readouterr().out)


def statuses(report: dict) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


def selftest_events(identity: DeviceIdentity, data: Path) -> list[dict]:
    store = sqlite.create(sqlite.Config(), data_dir=data, identity=identity, clock=SystemClock())
    store.start()
    try:
        records = [unverified_record(r.cose) for r in store.records()]
    finally:
        store.stop()
    return [dict(r.body["details"]) for r in records
            if r.kind is Kind.EVENT and r.body["type"] == "selftest"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, DeviceIdentity]]:
    identity = create_identity(tmp_path / "data")
    fingerprint = provision(tmp_path / "srv", identity.device_id, identity.public_key_hex)
    process = ServerProcess(tmp_path / "srv")
    process.start()
    yield process, fingerprint, identity
    process.stop()


@pytest.mark.slow
def test_every_check_passes_on_the_bench_and_the_result_is_signed(
        tmp_path: Path, server, capsys) -> None:
    pytest.importorskip("ai_edge_litert")
    process, fingerprint, identity = server
    sync = (f'[sync]\ntype = "https"\nurl = "https://127.0.0.1:{process.port}"\n'
            f'server_cert = "{tmp_path / "srv" / "server.crt"}"\nfingerprint = "{fingerprint}"\n')
    with GpsFeed(tmp_path / "gps0"):
        code, report = selftest(write_config(tmp_path, sync), capsys)
    found = statuses(report)
    # The clock passes when NTP or the simulated GPS's time vouches for it.
    assert found == {name: "pass" for name in found}, report
    assert set(found) == {"gps", "gps_fix", "clock", "camera", "camera_exposure", "models_load",
                          "models_sha256", "known_answer", "store", "storage", "server",
                          "supervisor"}
    assert code == 0 and report["passed"] is True
    (event,) = selftest_events(identity, tmp_path / "data")
    assert event["passed"] is True and event["server_ok"] is True and event["gps_fix_ok"]


def test_a_silent_gps_and_a_dead_link_fail_with_what_to_do(tmp_path: Path, capsys) -> None:
    identity = create_identity(tmp_path / "data")
    config = write_config(tmp_path, script='["0 link down"]')
    with GpsFeed(tmp_path / "gps0", mode="garbage"):
        code, report = selftest(config, capsys, gps_wait=1.5)
    assert code == 1 and report["passed"] is False
    rows = {check["name"]: check for check in report["checks"]}
    assert rows["gps"]["status"] == "fail" and "baud rate" in rows["gps"]["todo"]
    assert rows["gps_fix"]["status"] == "fail" and "sky" in rows["gps_fix"]["todo"]
    assert rows["supervisor"]["status"] == "fail"
    assert rows["server"]["status"] == "skip"
    assert rows["camera"]["status"] == "pass" and rows["storage"]["status"] == "pass"
    (event,) = selftest_events(identity, tmp_path / "data")
    assert event["passed"] is False and "gps" in event["failed"].split(",")
    assert event["server_ok"] is None


def test_the_table_names_each_failure_and_the_exit_code_says_so(tmp_path: Path,
                                                                capsys) -> None:
    create_identity(tmp_path / "data")
    config = write_config(tmp_path)
    with GpsFeed(tmp_path / "gps0", mode="silent"):
        code = cli.main(["selftest", "--config", str(config), "--gps-wait", "1",
                         "--link-wait", "1"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    gps = next(i for i, line in enumerate(out) if line.startswith("gps "))
    assert "FAIL" in out[gps] and "nothing arrives" in out[gps + 1]
    assert out[-1].startswith("self-test FAILED: gps, gps_fix")


def test_without_a_device_key_it_says_how_to_provision(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    assert cli.main(["selftest", "--config", str(config), "--gps-wait", "0"]) == 2
    assert "identity init" in capsys.readouterr().err
