"""`person export` and `GET /api/v1/persons/{case}/export`: a person's records over a period,
every device they wore cut to the time they wore it, checkable without trusting the server."""

import base64
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.export import decode_export, server_public_key, verify_export, verify_head
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.api.app import create_app
from fieldcheck_server.api.casework import CaseworkSettings
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, people, person_export, registry
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.domain.roles import SYSTEM, Principal, Role
from fieldcheck_server.errors import CaseNotFound, CaseworkError, Forbidden
from host_tools.cli import main
from tests.fieldcheck_server.casekit import Chain
from tests.fieldcheck_server.operator_client import BASE_URL, FAST, bearer
from tests.fieldcheck_server.serverkit import LIMITS
from tests.firmware.sync.devicesim import SimDevice

DAY = datetime(2026, 11, 24, tzinfo=UTC)
ALICE = Principal(0, "alice", Role.OFFICER)
BOB = Principal(0, "bob", Role.OFFICER)
KEY = Ed25519PrivateKey.generate()


def hours(n: float) -> datetime:
    return DAY + timedelta(hours=n)


@pytest.fixture
def app_client(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    settings = CaseworkSettings(export_key=KEY)
    app = create_app(IngestService(db, clock, LIMITS), access=FAST, casework=settings)
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def units(db: Database, device: SimDevice, app_client: TestClient,
          clock: ManualClock) -> tuple[SimDevice, SimDevice]:
    """Ana (alice's) wore unit A 00:00-03:00, then unit B; Ben (bob's) wore A from 03:00."""
    other = SimDevice(seed=12)
    registry.register(db, other.device_id, other.public_key.hex(), "unit 2", 0)
    people.add_person(db, SYSTEM, "C-1", "Ana", [], "alice", 0)
    people.add_person(db, SYSTEM, "C-2", "Ben", [], "bob", 0)
    people.assign(db, SYSTEM, "C-1", device.device_id, to_ms(hours(0)), "issued")
    people.assign(db, SYSTEM, "C-1", other.device_id, to_ms(hours(3)), "swap")
    people.assign(db, SYSTEM, "C-2", device.device_id, to_ms(hours(3)), "reissued")
    first = Chain(device)
    first.event(hours(1), "boot")                                  # A seq 0: before the period
    first.checkin(hours(2), "match", score=0.9)                    # A seq 1: Ana's, in it
    first.event(hours(5), "tamper", strap="open")                  # A seq 2: Ben's
    first.upload(app_client, clock)
    second = Chain(other)
    second.checkin(hours(4), "no_match", score=0.2)                # B seq 0: Ana's, in it
    second.event(hours(10), "boot")                                # B seq 1: after the period
    second.upload(app_client, clock)
    return device, other


def _collect(db: Database, who: Principal = SYSTEM) -> person_export.PersonExport:
    return person_export.collect(db, who, "C-1", hours(1.5), hours(8))


def test_only_the_worn_part_of_each_assignment_inside_the_period(
        db: Database, units: tuple[SimDevice, SimDevice]) -> None:
    first, second = units
    data = _collect(db, ALICE)
    assert [(p.assignment.device_id, p.start_ms, p.end_ms) for p in data.parts] == [
        (first.device_id, to_ms(hours(1.5)), to_ms(hours(3))),
        (second.device_id, to_ms(hours(3)), to_ms(hours(8)))]
    assert [[r.seq for r in p.listing.rows] for p in data.parts] == [[1], [0]]
    assert person_export.collect(db, SYSTEM, "C-1", hours(6), hours(7)).row_count == 0
    with pytest.raises(CaseNotFound, match="on your caseload"):
        _collect(db, BOB)
    with pytest.raises(Forbidden, match="auditor role may not export"):
        _collect(db, Principal(0, "aud", Role.AUDITOR))
    with pytest.raises(CaseworkError, match="--since must be before --until"):
        person_export.collect(db, SYSTEM, "C-1", hours(8), hours(8))
    with pytest.raises(CaseworkError, match="--until: .*out of range"):
        person_export.collect(db, SYSTEM, "C-1", hours(8), datetime(1969, 12, 31, tzinfo=UTC))


def test_json_rows_carry_status_raw_bytes_key_and_a_checkable_file(
        db: Database, units: tuple[SimDevice, SimDevice]) -> None:
    first, _ = units
    doc = json.loads(person_export.person_export(db, ALICE, "C-1", hours(1.5), hours(8), "json",
                                                 KEY, to_ms(hours(9))))
    assert (doc["format"], doc["case_number"]) == (person_export.FORMAT, "C-1")
    section = doc["devices"][0]
    assert section["public_key"] == first.public_key.hex()
    [row] = section["rows"]
    assert (row["seq"], row["status"], row["record"]["body"]["verdict"]) == (1, "verified",
                                                                             "match")
    signed = decode_export(base64.b64decode(section["export_b64"]))
    assert [r.seq for r in verify_export(signed)] == [1]
    assert signed.records[0] == base64.b64decode(row["cose_b64"])
    head = verify_head(signed, server_public_key(KEY))
    assert head.seq == 1
    [entry] = [e for e in audit.newest(db, 10) if e.action == "person.export"]
    assert entry.target == "C-1" and "alice" in entry.actor


def test_csv_geojson_and_cose(db: Database, units: tuple[SimDevice, SimDevice]) -> None:
    first, second = units
    text = person_export.person_export(db, SYSTEM, "C-1", hours(1.5), hours(8), "csv", None,
                                       0).decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [(r["device_id"], r["seq"], r["status"]) for r in lines] == [
        (first.device_id, "1", "verified"), (second.device_id, "0", "verified")]
    geo = json.loads(person_export.person_export(db, SYSTEM, "C-1", hours(0), hours(8),
                                                 "geojson", None, 0))
    assert geo["type"] == "FeatureCollection"
    with pytest.raises(CaseworkError, match="no export key loaded"):
        person_export.person_export(db, SYSTEM, "C-1", hours(1.5), hours(8), "cose", None, 0)
    blob = person_export.person_export(db, SYSTEM, "C-1", hours(1.5), hours(8), "cose", KEY, 5)
    top = cbor2.loads(blob)
    assert (top["format"], top["since"], top["until"]) == (
        person_export.FORMAT, to_ms(hours(1.5)), to_ms(hours(8)))
    for part, sim, seqs in zip(top["devices"], units, ([1], [0]), strict=True):
        signed = decode_export(part["export"])
        assert (signed.device_id, signed.public_key) == (sim.device_id, sim.public_key)
        assert [r.seq for r in verify_export(signed)] == seqs
        assert verify_head(signed, server_public_key(KEY)).seq == seqs[-1]


@pytest.mark.usefixtures("units")
def test_api_route_bounds_roles_and_serves_each_format(db: Database,
                                                       app_client: TestClient) -> None:
    query = {"since": "2026-11-24T01:30", "until": "2026-11-24T08:00"}
    alice = bearer(db, Role.OFFICER, "alice")
    answer = app_client.get("/api/v1/persons/C-1/export", params=query, headers=alice)
    assert answer.status_code == 200, answer.text
    assert [len(d["rows"]) for d in answer.json()["devices"]] == [1, 1]
    cose = app_client.get("/api/v1/persons/C-1/export", params={**query, "format": "cose"},
                          headers=alice)
    assert cose.headers["content-type"] == "application/cbor"
    assert len(cbor2.loads(cose.content)["devices"]) == 2
    bob = bearer(db, Role.OFFICER, "bob")
    assert app_client.get("/api/v1/persons/C-1/export", params=query,
                          headers=bob).status_code == 404
    auditor = bearer(db, Role.AUDITOR)
    assert app_client.get("/api/v1/persons/C-1/export", params=query,
                          headers=auditor).status_code == 403
    backwards = {"since": query["until"], "until": query["since"]}
    refused = app_client.get("/api/v1/persons/C-1/export", params=backwards, headers=alice)
    assert refused.status_code == 422 and "before" in refused.json()["detail"]


def test_cli_writes_a_private_file(db_url: str, db: Database,
                                   units: tuple[SimDevice, SimDevice], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c1.cose"
    where = ("--dir", str(tmp_path), "--database", db_url)
    assert main(["person", "export", "C-1", "--since", "2026-11-24T01:30", "--until",
                 "2026-11-24T08:00", "--format", "cose", "--out", str(out), *where]) == 0
    assert out.stat().st_mode & 0o077 == 0
    assert len(cbor2.loads(out.read_bytes())["devices"]) == 2
    assert main(["person", "export", "C-1", "--since", "2026-11-24", "--until", "2026-11-25",
                 "--format", "csv", *where]) == 0
    assert units[1].device_id in capsys.readouterr().out
    assert main(["person", "export", "C-1", "--since", "2026-11-24", "--until", "2026-11-25",
                 "--format", "cose", *where]) != 0
    assert "give --out FILE" in capsys.readouterr().err
