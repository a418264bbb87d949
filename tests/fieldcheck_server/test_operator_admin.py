"""The admin's view of accounts and tokens (JSON and page): no secrets shown; revoking a token."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import accounts, audit, tokens
from fieldcheck_server.domain.roles import SYSTEM, Role
from tests.fieldcheck_server.operator_client import (
    BASE_URL,
    FAST,
    PASSWORD,
    bearer,
    make_user,
    operator_app,
    sign_in,
)


@pytest.fixture
def web(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        yield client


def test_accounts_and_tokens_are_listed_without_secrets(web: TestClient, db: Database) -> None:
    officer = make_user(db, Role.OFFICER, "olu")
    accounts.enable_totp(db, FAST, "olu", 0, SYSTEM)
    made = tokens.create(db, "olu", "case sync", None, 0, SYSTEM)
    headers = bearer(db, Role.ADMIN)
    users = web.get("/api/v1/users", headers=headers).json()
    olu = next(u for u in users if u["username"] == "olu")
    assert olu == {"id": officer.id, "username": "olu", "role": "officer", "created_at": 0,
                   "disabled": False, "locked_until": None, "totp": True}
    listed = web.get("/api/v1/tokens", headers=headers)
    assert made.secret not in listed.text and PASSWORD not in listed.text
    sync = next(t for t in listed.json() if t["name"] == "case sync")
    assert sync["owner"] == "olu" and sync["role"] == "officer" and sync["revoked_at"] is None


def test_an_admin_revokes_a_token_on_the_page(web: TestClient, db: Database) -> None:
    make_user(db, Role.TECHNICIAN, "tec")
    made = tokens.create(db, "tec", "provisioning laptop", None, 0, SYSTEM)
    csrf = sign_in(web, db, Role.ADMIN, username="boss")
    page = web.get("/admin")
    assert "provisioning laptop" in page.text and made.secret not in page.text
    done = web.post(f"/admin/tokens/{made.row.id}/revoke", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert done.status_code == 303
    assert tokens.resolve(db, made.secret, 1) is None
    entry = audit.newest(db, 1)[0]
    assert (entry.action, entry.actor) == ("token.revoke", "boss")
    again = web.post(f"/admin/tokens/{made.row.id}/revoke", data={"csrf_token": csrf})
    assert "already revoked" in again.text


def test_the_json_revoke_answers_the_revoked_token(web: TestClient, db: Database) -> None:
    make_user(db, Role.AUDITOR, "aud")
    made = tokens.create(db, "aud", "exports", None, 0, SYSTEM)
    headers = bearer(db, Role.ADMIN)
    answer = web.post(f"/api/v1/tokens/{made.row.id}/revoke", headers=headers)
    assert answer.status_code == 200 and answer.json()["revoked_at"] is not None
    assert web.post(f"/api/v1/tokens/{made.row.id}/revoke", headers=headers).status_code == 404
    assert web.get("/api/v1/me", headers={"Authorization": f"Bearer {made.secret}"}).status_code \
        == 401


def test_a_token_stops_with_its_account_and_with_a_role_change(db: Database) -> None:
    make_user(db, Role.OFFICER, "olu")
    made = tokens.create(db, "olu", "sync", None, 0, SYSTEM)
    assert tokens.resolve(db, made.secret, 1) is not None
    accounts.set_role(db, "olu", Role.AUDITOR, 2, SYSTEM)
    assert tokens.resolve(db, made.secret, 3) is None
    accounts.set_role(db, "olu", Role.OFFICER, 4, SYSTEM)
    accounts.set_disabled(db, "olu", True, 5, SYSTEM)
    assert tokens.resolve(db, made.secret, 6) is None


def test_only_an_admin_token_may_take_another_role(db: Database) -> None:
    make_user(db, Role.OFFICER, "olu")
    from fieldcheck_server.errors import AccountError

    with pytest.raises(AccountError, match="only an admin's token may have another role"):
        tokens.create(db, "olu", "sync", Role.ADMIN, 0, SYSTEM)
    admin = make_user(db, Role.ADMIN, "root2")
    narrow = tokens.create(db, admin.username, "read audit", Role.AUDITOR, 0, SYSTEM)
    resolved = tokens.resolve(db, narrow.secret, 1)
    assert resolved is not None and resolved.role is Role.AUDITOR and resolved.token == "read audit"
