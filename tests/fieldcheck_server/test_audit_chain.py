"""The audit log's hash chain: every change, removal or reordering is found; appends from many
threads at once (and on PostgreSQL, many connections) still make one unbroken chain."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tables import audit_log
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.roles import SYSTEM, Principal, Role
from tests.fieldcheck_server.operator_client import BASE_URL, bearer, operator_app, sign_in

ANA = Principal(7, "ana", Role.ADMIN)


@pytest.fixture
def logged(db: Database) -> Database:
    for n in range(1, 6):
        audit.append(db, ANA, "user.add", f"user{n}", 1000 * n, {"role": "officer"})
    return db


def _change(db: Database, seq: int, **values: object) -> None:
    with db.write() as tx:
        tx.connection.execute(update(audit_log).where(audit_log.c.seq == seq).values(**values))


def test_each_entry_holds_the_hash_of_the_one_before(logged: Database) -> None:
    rows = list(audit.entries(logged))
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS
    pairs = zip(rows, rows[1:], strict=False)
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in pairs)
    report = audit.verify(logged)
    assert report.ok and report.entries == 5 and report.head == rows[-1].entry_hash


@pytest.mark.parametrize(("column", "value"), [
    ("actor", "mallory"), ("action", "user.disable"), ("target", "someone else"),
    ("detail", '{"role":"admin"}'), ("at", 1), ("role", "auditor"),
])
def test_changing_any_field_is_found(logged: Database, column: str, value: object) -> None:
    _change(logged, 3, **{column: value})
    report = audit.verify(logged)
    assert not report.ok and report.entries == 2
    assert report.problem == "entry 3 was altered after it was written (its hash does not match)"


def test_a_removed_entry_is_found(logged: Database) -> None:
    with logged.write() as tx:
        tx.connection.execute(delete(audit_log).where(audit_log.c.seq == 2))
    assert audit.verify(logged).problem == "entry 2 is missing (the next entry is 3)"


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(logged: Database) -> None:
    row = list(audit.entries(logged))[1]
    forged = audit.entry_hash(row.seq, row.at, ("mallory", None, "admin"),
                              (row.action, row.target, row.detail), row.prev_hash)
    _change(logged, 2, actor="mallory", actor_id=None, entry_hash=forged)
    assert audit.verify(logged).problem == (
        "entry 3 does not link to entry 2 (it was changed or replaced)")


def test_swapping_two_entries_is_found(logged: Database) -> None:
    rows = list(audit.entries(logged))
    with logged.write() as tx:
        tx.connection.execute(delete(audit_log).where(audit_log.c.seq.in_([2, 3])))
        for row, seq in ((rows[1], 3), (rows[2], 2)):
            tx.connection.execute(audit_log.insert().values(**{**row.__dict__, "seq": seq}))
    assert not audit.verify(logged).ok


def test_concurrent_appends_make_one_chain(db: Database) -> None:
    def append(n: int) -> None:
        for i in range(10):
            audit.append(db, SYSTEM, "test.append", f"thread {n} item {i}", i)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(8)))
    report = audit.verify(db)
    assert report.ok and report.entries == 80


@pytest.fixture
def web(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        yield client


def test_auditors_read_the_log_as_json_and_as_a_page(web: TestClient, db: Database) -> None:
    headers = bearer(db, Role.AUDITOR)
    entries = web.get("/api/v1/audit", params={"limit": 2}, headers=headers).json()
    assert [e["action"] for e in entries] == ["token.create", "user.add"]
    assert entries[0]["prev_hash"] == entries[1]["entry_hash"]
    status = web.get("/api/v1/audit/verify", headers=headers).json()
    assert status["ok"] is True and status["entries"] == 3  # two accounts, one token
    sign_in(web, db, Role.AUDITOR)
    page = web.get("/audit")
    assert page.status_code == 200 and "chain intact" in page.text and "token.create" in page.text
    _change(db, 1, target="nobody")
    assert "BROKEN after 0 good entries" in web.get("/audit").text
    assert web.get("/api/v1/audit/verify", headers=headers).json()["ok"] is False
