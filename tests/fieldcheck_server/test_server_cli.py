"""The technician and officer commands, run in-process through `fieldcheck`'s entry point."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.export import decode_export, verify_export, verify_head
from fieldcheck_server import bench, tls
from fieldcheck_server.api.app import create_app
from fieldcheck_server.bench import run_all
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.domain.ingest import IngestService
from host_tools.cli import main
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.fixture
def served(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, SimDevice]:
    """An initialised server directory with one registered unit that synced 4 records + 1 fork."""
    directory = tmp_path / "srv"
    out = run(capsys, "server", "init", "--dir", str(directory))
    assert tls.fingerprint(directory / tls.CERT_FILE) in out
    assert (directory / tls.KEY_FILE).stat().st_mode & 0o777 == 0o600
    sim = SimDevice()
    run(
        capsys,
        "device",
        "register",
        "--dir",
        str(directory),
        "--id",
        sim.device_id,
        "--public-key",
        sim.public_key.hex(),
        "--label",
        "unit 7",
    )
    clock = ManualClock()
    client = TestClient(create_app(IngestService(open_sqlite(directory / DB_FILE), clock)))
    chain = sim.extend(4)
    post(client, sim, chain, clock)
    post(client, sim, [sim.sign(sim.record(3, bytes(32), body={"interval": 5}))], clock)
    return directory, sim


def test_register_refuses_a_key_that_is_not_the_devices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "server", "init", "--dir", str(tmp_path))
    other = SimDevice(seed=3)
    code = main(
        [
            "device",
            "register",
            "--dir",
            str(tmp_path),
            "--id",
            SimDevice().device_id,
            "--public-key",
            other.public_key.hex(),
        ]
    )
    assert code == 2
    assert "does not belong to that public key" in capsys.readouterr().err


def test_init_refuses_to_replace_a_pinned_certificate(
    served: tuple[Path, SimDevice], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, _sim = served
    assert main(["server", "init", "--dir", str(directory)]) == 2
    assert "re-pin" in capsys.readouterr().err


def test_device_list_revoke_and_reinstate_are_audited(
    served: tuple[Path, SimDevice], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, sim = served
    where = ("--dir", str(directory), "--id", sim.device_id)
    assert "active" in run(capsys, "device", "list", "--dir", str(directory))
    out = run(capsys, "device", "revoke", *where, "--reason", "unit stolen")
    assert "fieldcheck device reinstate" in out
    listing = run(capsys, "device", "list", "--dir", str(directory))
    assert f"{sim.device_id}  revoked" in listing and "unit 7" in listing
    # Revoking twice changes nothing and says so.
    assert main(["device", "revoke", *where, "--reason", "again"]) == 2
    assert "already revoked" in capsys.readouterr().err
    run(capsys, "device", "reinstate", *where, "--reason", "unit found")
    assert f"{sim.device_id}  active" in run(capsys, "device", "list", "--dir", str(directory))
    events = run(capsys, "device", "events", *where).splitlines()
    assert [line.split()[1] for line in events] == ["registered", "revoked", "reinstated"]
    assert events[1].endswith("unit stolen") and events[2].endswith("unit found")


def test_registering_a_revoked_unit_again_names_reinstate(
    served: tuple[Path, SimDevice], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8: re-registering a revoked device printed "registered" and did nothing."""
    directory, sim = served
    where = ("--dir", str(directory), "--id", sim.device_id)
    run(capsys, "device", "revoke", *where, "--reason", "test")
    assert main(["device", "register", *where, "--public-key", sim.public_key.hex()]) == 2
    err = capsys.readouterr().err
    assert "was revoked" in err and f"fieldcheck device reinstate --id {sim.device_id}" in err
    assert f"{sim.device_id}  revoked" in run(capsys, "device", "list", "--dir", str(directory))


def test_records_list_shows_verified_and_quarantined(
    served: tuple[Path, SimDevice], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, sim = served
    lines = run(capsys, "records", "list", "--dir", str(directory), "--device", sim.device_id)
    statuses = [line.split()[1] for line in lines.splitlines()]
    assert statuses == ["verified"] * 4 + ["quarantined"]
    assert "fork" in lines.splitlines()[-1]
    alerts = run(capsys, "alerts", "list", "--dir", str(directory))
    assert f"{sim.device_id}  fork:" in alerts


def test_exports(
    served: tuple[Path, SimDevice], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    directory, sim = served
    base = ("records", "export", "--dir", str(directory), "--device", sim.device_id)
    as_json = json.loads(run(capsys, *base, "--format", "json"))
    assert [(r["seq"], r["status"]) for r in as_json][-2:] == [(3, "verified"), (3, "quarantined")]
    assert as_json[0]["record"]["kind"] == "location"
    csv_lines = run(capsys, *base, "--format", "csv").splitlines()
    assert csv_lines[0].startswith("seq,status,reason,kind") and len(csv_lines) == 6
    geo = json.loads(run(capsys, *base, "--format", "geojson"))
    assert len(geo["features"]) == 5
    assert geo["features"][0]["geometry"]["coordinates"] == [13.40, 52.52]
    out = tmp_path / "records.cbor"
    run(capsys, *base, "--format", "cose", "--out", str(out))
    exported = decode_export(out.read_bytes())
    assert (exported.device_id, exported.public_key) == (sim.device_id, sim.public_key)
    assert list(exported.records) == sim.chain
    assert [record.seq for record in verify_export(exported)] == [0, 1, 2, 3]
    published = run(capsys, "server", "export-key", "--dir", str(directory)).strip()
    assert verify_head(exported, bytes.fromhex(published)).seq == 3


def test_openapi_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "openapi.json"
    run(capsys, "server", "openapi", "--out", str(out))
    assert "/v1/records" in json.loads(out.read_text())["paths"]


def test_bench_functions_produce_figures() -> None:
    figures = run_all(records=20, backlog=50)
    assert figures["ed25519_verify_per_s_one_core"] > 0
    assert figures["server_ingest_records_per_s"] > 0
    assert figures["backlog_drain_s"] > 0


def test_the_bench_samples_its_anchor_between_batches_and_times_only_the_batches() -> None:
    key = Ed25519PrivateKey.generate()
    chain = bench.signed_chain(key, bench.BATCH * 2 + 10)
    cost, anchor = bench.IngestCost(len(chain)), bench.Anchor()
    rate, batch_ms = bench.ingest_per_s(key, chain, None, cost, anchor)
    assert len(batch_ms) == 3 and len(anchor.per_s) == len(anchor.cpu_s) == 4
    assert cost.wall_s == pytest.approx(sum(batch_ms) / 1000)
    assert rate == pytest.approx(len(chain) / cost.wall_s)
    assert anchor.rate() > 0 and anchor.verify_cpu_s() > 0
    assert cost.database_cpu_s == 0.0  # SQLite: in the serving process's own CPU
