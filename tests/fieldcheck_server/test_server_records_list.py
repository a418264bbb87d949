"""`fieldcheck records list`: event type, verdict and place; kind and time filters; limits."""

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import ZERO_HASH, Kind
from fieldcheck_protocol.signature import record_hash
from fieldcheck_server.api.app import create_app
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.domain.ingest import IngestService
from host_tools.cli import main
from tests.fieldcheck_protocol.records_factory import WHEN, sample_record
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice

#: (kind, body) of the unit's records, one minute apart from WHEN.
HISTORY = (
    (Kind.EVENT, {"type": "boot"}),
    (Kind.LOCATION, {"interval": 300}),
    (Kind.CHECKIN, {"verdict": "match", "trigger": "button", "score": 0.812}),
    (Kind.EVENT, {"type": "tamper", "details": {"open": 1}}),
    (Kind.CHECKIN, {"verdict": "no_match", "trigger": "scheduled", "score": 0.31}),
)


@pytest.fixture
def server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    directory = tmp_path / "srv"
    sim = SimDevice()
    assert main(["server", "init", "--dir", str(directory)]) == 0
    assert main(["device", "register", "--dir", str(directory), "--id", sim.device_id,
                 "--public-key", sim.public_key.hex()]) == 0
    chain, prev = [], ZERO_HASH
    for seq, (kind, body) in enumerate(HISTORY):
        when = WHEN + timedelta(minutes=seq)
        cose = sim.sign(sample_record(sim.key, kind, seq, prev, body=body, device_time=when,
                                      gps_time=when))
        chain.append(cose)
        prev = record_hash(cose)
    clock = ManualClock()
    client = TestClient(create_app(IngestService(open_sqlite(directory / DB_FILE), clock)))
    assert post(client, sim, chain, clock).status_code == 200
    capsys.readouterr()
    return directory, sim.device_id


def listed(capsys: pytest.CaptureFixture[str], server: tuple[Path, str], *extra: str) -> list[str]:
    directory, device = server
    assert main(["records", "list", "--dir", str(directory), "--device", device, *extra]) == 0
    return capsys.readouterr().out.splitlines()


def test_lines_show_event_type_verdict_and_rounded_place(
    server: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = listed(capsys, server)
    assert len(lines) == 5
    assert "event boot" in lines[0] and "event tamper" in lines[3]
    assert "location" in lines[1]
    assert "checkin match (button) score 0.81" in lines[2]
    assert "checkin no_match (scheduled) score 0.31" in lines[4]
    assert all("52.520,13.405" in line for line in lines)
    assert not any("52.520008" in line for line in lines)  # never the precise position
    assert "2026-11-24T12:02:00+00:00" in lines[2]


def test_filter_by_kind(server: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    lines = listed(capsys, server, "--kind", "checkin")
    assert [line.split()[0] for line in lines] == ["2", "4"]
    assert [line.split()[0] for line in listed(capsys, server, "--kind", "event")] == ["0", "3"]


def test_filter_by_time_since_inclusive_until_exclusive(
    server: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = listed(capsys, server, "--since", "2026-11-24T12:01:00.250", "--until",
                   "2026-11-24T13:03:00.250+01:00")
    assert [line.split()[0] for line in lines] == ["1", "2"]
    assert [line.split()[0] for line in listed(capsys, server, "--since", "2026-11-25")] == []
    assert len(listed(capsys, server, "--kind", "event", "--limit", "1")) == 1


@pytest.mark.parametrize("argv", [
    ["records", "list", "--device", "x", "--limit", "-1"],
    ["records", "list", "--device", "x", "--limit", "0"],
    ["alerts", "list", "--limit", "-5"],
    ["records", "list", "--device", "x", "--since", "yesterday"],
])
def test_bad_limits_and_times_are_refused(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--dir", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert ("positive number" in err) or ("not a date or time" in err)


def test_since_after_until_is_refused(
    server: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, device = server
    assert main(["records", "list", "--dir", str(directory), "--device", device,
                 "--since", "2026-11-25", "--until", "2026-11-24"]) == 2
    assert "is not before --until" in capsys.readouterr().err
