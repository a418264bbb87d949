"""``fieldcheck-device decommission`` against the real HTTPS server: a final upload, the signed
decommissioned record last, the unit's secrets and records erased, its key refused after."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import SystemClock
from firmware import cli
from firmware.app.wiring import Wiring
from firmware.config import validate
from firmware.store.identity import DeviceIdentity, create_identity, load_identity
from firmware.sync.backends import https
from firmware.sync.base import SyncRefused
from tests.e2e.serverproc import ServerProcess, fieldcheck, provision

Unit = tuple[Path, DeviceIdentity, ServerProcess, str]


def write_config(tmp_path: Path, port: int, fingerprint: str) -> Path:
    path = tmp_path / "device.toml"
    path.write_text(
        f'[device]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[sync]\ntype = "https"\nurl = "https://127.0.0.1:{port}"\n'
        f'server_cert = "{tmp_path / "srv" / "server.crt"}"\nfingerprint = "{fingerprint}"\n'
        'timeout_s = 5.0\n')
    return path


def seed(config: Path, records: int) -> None:
    """A unit with a store, ``records`` signed events, a template and review images."""
    wiring = Wiring(validate(config).essentials())
    identity = load_identity(wiring.data_dir)
    store = wiring.store(identity)
    store.start()
    try:
        ledger = wiring.ledger(store, identity)
        for n in range(records):
            ledger.event("config_change", {"source": "test", "n": n})
    finally:
        store.stop()
    (wiring.data_dir / "face-template.fct").write_bytes(b"sealed template")
    (wiring.data_dir / "face-template.key").write_bytes(b"k" * 32)
    (wiring.data_dir / "review").mkdir()
    (wiring.data_dir / "review" / "1.box").write_bytes(b"sealed image")


@pytest.fixture
def unit(tmp_path: Path) -> Iterator[Unit]:
    identity = create_identity(tmp_path / "data")
    fingerprint = provision(tmp_path / "srv", identity.device_id, identity.public_key_hex)
    server = ServerProcess(tmp_path / "srv")
    server.start()
    config = write_config(tmp_path, server.port, fingerprint)
    seed(config, 5)
    yield config, identity, server, fingerprint
    server.stop()


def run(config: Path, *extra: str) -> int:
    return cli.main(["decommission", "--config", str(config), "--yes", *extra])


def push_with(identity: DeviceIdentity, tmp_path: Path, port: int, fingerprint: str) -> None:
    transport = https.create(https.Config(url=f"https://127.0.0.1:{port}",
                                          server_cert=tmp_path / "srv" / "server.crt",
                                          fingerprint=fingerprint), identity, SystemClock())
    transport.start()
    try:
        transport.push([])
    finally:
        transport.stop()


@pytest.mark.slow
def test_decommission_uploads_erases_and_the_server_retires_the_key(
        tmp_path: Path, unit: Unit, capsys) -> None:
    config, identity, server, fingerprint = unit
    data = tmp_path / "data"
    assert run(config, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unsent"] == 0 and report["final_acknowledged"] is True
    assert report["final_seq"] == 5
    assert report["erased"] == {"device key": 1, "face template and its key": 2,
                                "review images": 1, "records": 1,
                                "schedule, command guard and remote policy": 0}
    assert sorted(p.name for p in data.iterdir()) == ["fieldcheck.lock"]
    # The server stored the final record and refuses the key from now on, with its own code.
    listing = fieldcheck("records", "list", "--dir", str(tmp_path / "srv"), "--device",
                         identity.device_id, "--kind", "event")
    assert "decommissioned" in listing.splitlines()[-1]
    trail = fieldcheck("device", "events", "--dir", str(tmp_path / "srv"), "--id",
                       identity.device_id)
    assert "retired" in trail and "decommissioned record seq 5" in trail
    assert f"{identity.device_id}  retired" in fieldcheck("device", "list", "--dir",
                                                          str(tmp_path / "srv"))
    with pytest.raises(SyncRefused) as refused:
        push_with(identity, tmp_path, server.port, fingerprint)
    assert refused.value.code == "device_retired" and "provision it anew" in str(refused.value)
    # A retired key cannot be registered again either.
    with pytest.raises(AssertionError, match="retired"):
        fieldcheck("device", "register", "--dir", str(tmp_path / "srv"), "--id",
                   identity.device_id, "--public-key", identity.public_key_hex, "--label", "x")


@pytest.mark.slow
def test_unacknowledged_records_refuse_it_with_the_count_until_forced(
        tmp_path: Path, unit: Unit, capsys) -> None:
    config, identity, server, fingerprint = unit
    server.stop()  # the server is down: nothing can be acknowledged
    data = tmp_path / "data"
    before = sorted(p.name for p in data.iterdir()) + ["fieldcheck.lock"]
    assert run(config) == 2
    err = capsys.readouterr().err
    assert "5 record(s) are not acknowledged by the server; nothing was erased" in err
    assert "--force" in err
    assert sorted(p.name for p in data.iterdir()) == sorted(before)  # nothing erased
    assert run(config, "--force") == 0
    out = capsys.readouterr().out
    assert "forced: 6 record(s) were never acknowledged" not in out
    assert "forced: 5 record(s) were never acknowledged and are erased" in out
    assert "fieldcheck device revoke" in out and "erased device key: 1 file(s)" in out
    assert not (data / "device.key").exists() and not (data / "records.sqlite3").exists()


def test_without_confirmation_nothing_happens(tmp_path: Path, capsys) -> None:
    create_identity(tmp_path / "data")
    config = write_config(tmp_path, 9, "00")
    assert cli.main(["decommission", "--config", str(config)]) == 2
    assert "needs confirmation" in capsys.readouterr().err
    assert (tmp_path / "data" / "device.key").exists()
