"""`fieldcheck person|review|webhook`, run in-process through `fieldcheck`'s entry point."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import open_database
from fieldcheck_server.domain import registry
from fieldcheck_server.domain.ingest import IngestService
from host_tools.cli import main
from tests.fieldcheck_server.casekit import Chain
from tests.fieldcheck_server.serverkit import LIMITS
from tests.firmware.sync.devicesim import SimDevice


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_person_review_and_webhook_commands(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    db = open_database(url)
    migrate.upgrade(db)
    sim = SimDevice()
    registry.register(db, sim.device_id, sim.public_key.hex(), "unit 7", 0)
    where = ("--database", url)
    assert "added C-7 Ana" in run(capsys, "person", "add", "C-7", "--name", "Ana",
                                  "--languages", "es,en", "--officer", "alice", *where)
    assert "wears" in run(capsys, "person", "assign", "C-7", sim.device_id, "--reason",
                          "issued", *where)
    assert sim.device_id in run(capsys, "person", "list", "--officer", "alice", *where)
    assert "C-7" not in run(capsys, "person", "list", "--officer", "bob", *where)
    assert "zone 1 home" in run(capsys, "person", "zone", "C-7", "--name", "home", "--rule",
                                "inclusion", "--circle", "52.52,13.40,150", *where)
    bad = run(capsys, "person", "zone", "C-7", "--name", "x", "--rule", "inclusion",
              "--circle", "north", *where, code=2)
    assert "--circle is LAT,LON,RADIUS_M" in bad
    chain = Chain(sim)
    day = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    chain.checkin(day, "no_match", score=0.2)
    with TestClient(create_app(IngestService(db, ManualClock(), LIMITS))) as client:
        chain.upload(client, ManualClock())
    assert "queued 1 item(s)" in run(capsys, "review", "scan", *where)
    listing = run(capsys, "review", "list", *where)
    assert "no_match" in listing and "open" in listing
    assert "needs a reason" in run(capsys, "review", "decide", "1", "finding", "--reason", "",
                                   *where, code=2)
    assert "finding by" in run(capsys, "review", "decide", "1", "finding", "--reason",
                               "another face", *where)
    secret = tmp_path / "secret"
    secret.write_text("0123456789abcdef0123456789abcdef\n")
    assert "webhook 1 -> https://" in run(capsys, "webhook", "add",
                                          "https://alerts.example/hook", "--secret-file",
                                          str(secret), *where)
    assert "webhook 1 disabled" in run(capsys, "webhook", "disable", "1", *where)
    assert "no active webhook 1" in run(capsys, "webhook", "disable", "1", *where, code=2)
    db.dispose()
