"""The server folder is 0700 and its database, WAL, key and exports 0600, whatever the umask."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.api.app import create_app
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.domain.ingest import IngestService
from host_tools.cli import main
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_the_server_writes_is_private(umask: int, tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "srv"
    assert main(["server", "init", "--dir", str(directory)]) == 0
    sim = SimDevice()
    register = ["device", "register", "--dir", str(directory), "--id", sim.device_id]
    assert main([*register, "--public-key", sim.public_key.hex()]) == 0
    db = open_sqlite(directory / DB_FILE)
    clock = ManualClock()
    with TestClient(create_app(IngestService(db, clock))) as client:
        assert post(client, sim, sim.extend(3), clock).status_code == 200
        # While the database is open its -wal and -shm files exist: check them then.
        written = [directory / DB_FILE, directory / f"{DB_FILE}-wal", directory / f"{DB_FILE}-shm"]
        assert all(path.exists() for path in written)
        assert {path.name: mode(path) for path in written} == {p.name: 0o600 for p in written}
    assert mode(directory) == 0o700
    assert mode(directory / "server.key") == 0o600
    exports = {}
    for fmt in ("json", "csv", "geojson", "cose"):
        out = tmp_path / f"export.{fmt}"
        base = ["records", "export", "--dir", str(directory), "--device", sim.device_id]
        assert main([*base, "--format", fmt, "--out", str(out)]) == 0
        exports[fmt] = mode(out)
    assert exports == dict.fromkeys(exports, 0o600)


def test_an_existing_export_file_is_made_private_too(umask: int, tmp_path: Path) -> None:
    directory = tmp_path / "srv"
    assert main(["server", "init", "--dir", str(directory)]) == 0
    sim = SimDevice()
    register = ["device", "register", "--dir", str(directory), "--id", sim.device_id]
    assert main([*register, "--public-key", sim.public_key.hex()]) == 0
    out = tmp_path / "old.json"
    out.write_text("old")
    out.chmod(0o644)
    base = ["records", "export", "--dir", str(directory), "--device", sim.device_id]
    assert main([*base, "--out", str(out)]) == 0
    assert mode(out) == 0o600 and out.read_text().startswith("[")
