"""`retention run`: the oldest records and audit entries go, audited, and what stays still
checks: the device export's chain, ingest's head (no gap, no fork) and `admin audit verify`."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, export, retention
from fieldcheck_server.domain.roles import SYSTEM
from fieldcheck_server.errors import CaseworkError
from host_tools.cli import main
from tests.fieldcheck_server.casekit import Chain
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KEEP_5_DAYS = retention.Policy(records_days=5, audit_days=5)


def _days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def _old_chain(device: SimDevice, client: TestClient, clock: ManualClock) -> Chain:
    chain = Chain(device)
    for n in (10, 9, 8):
        chain.event(_days_ago(n), "boot")       # seqs 0..2: past the age
    chain.event(_days_ago(1), "boot")           # seq 3: kept
    chain.upload(client, clock)
    return chain


def test_old_records_go_and_the_rest_still_checks_and_chains(
        db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> None:
    chain = _old_chain(device, client, clock)
    done = retention.run(db, SYSTEM, KEEP_5_DAYS, to_ms(NOW))
    assert done.records == {device.device_id: 3}
    rows = export.rows(db, device.device_id)
    assert [(r.seq, r.status) for r in rows] == [(3, "verified")]
    # The unit re-sends what retention deleted: duplicates, not a fork; its next record chains.
    again = post(client, device, chain.cose, clock)
    assert again.status_code == 200, again.text
    chain.event(NOW, "boot")
    chain.upload(client, clock, start=4)
    assert [(r.seq, r.status) for r in export.rows(db, device.device_id)] == [
        (3, "verified"), (4, "verified")]


def test_a_device_keeps_its_newest_record_however_old(
        db: Database, device: SimDevice, client: TestClient, clock: ManualClock) -> None:
    chain = Chain(device)
    for n in (30, 20):
        chain.event(_days_ago(n), "boot")
    chain.upload(client, clock)
    assert retention.run(db, SYSTEM, KEEP_5_DAYS, to_ms(NOW)).records == {device.device_id: 1}
    assert [(r.seq, r.status) for r in export.rows(db, device.device_id)] == [(1, "verified")]
    chain.event(NOW, "boot")
    chain.upload(client, clock, start=2)
    assert [r.seq for r in export.rows(db, device.device_id)] == [1, 2]


def test_audit_entries_go_and_verify_still_passes(db: Database) -> None:
    for n in (9, 8, 7, 1):
        audit.append(db, SYSTEM, "test.action", "x", to_ms(_days_ago(n)))
    dry = retention.run(db, SYSTEM, KEEP_5_DAYS, to_ms(NOW), dry_run=True)
    assert (dry.audit_entries, len(list(audit.entries(db)))) == (3, 4)
    done = retention.run(db, SYSTEM, KEEP_5_DAYS, to_ms(NOW))
    assert done.audit_entries == 3
    kept = list(audit.entries(db))
    assert [e.seq for e in kept] == [4, 5]
    assert kept[-1].action == "retention.run" and '"audit_entries":3' in kept[-1].detail
    report = audit.verify(db)
    assert report.ok, report.problem
    audit.append(db, SYSTEM, "test.action", "x", to_ms(NOW))
    assert audit.verify(db).ok


def test_a_run_refuses_a_zero_age(db: Database) -> None:
    with pytest.raises(CaseworkError, match="at least 1"):
        retention.run(db, SYSTEM, retention.Policy(records_days=0), to_ms(NOW))


def test_cli_dry_run_then_run(db_url: str, db: Database, device: SimDevice,
                              client: TestClient, clock: ManualClock, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    chain = Chain(device)
    chain.event(datetime(2020, 1, 1, tzinfo=UTC), "boot")
    chain.event(datetime(2020, 1, 2, tzinfo=UTC), "boot")
    chain.upload(client, clock)
    where = ("--dir", str(tmp_path), "--database", db_url)
    assert main(["retention", "run", "--records-days", "30", "--dry-run", *where]) == 0
    assert "would delete 1 record(s) of 1 device(s)" in capsys.readouterr().out
    assert len(export.rows(db, device.device_id)) == 2
    assert main(["retention", "run", "--records-days", "30", *where]) == 0
    assert "deleted 1 record(s)" in capsys.readouterr().out
    assert [r.seq for r in export.rows(db, device.device_id)] == [1]
    with pytest.raises(SystemExit):
        main(["retention", "run", "--records-days", "0", *where])
    assert "give 1 or more" in capsys.readouterr().err
