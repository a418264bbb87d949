"""Signing in: cookie flags, lock-out, idle and absolute expiry, TOTP, logout, CSRF on forms."""

from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tables import sessions as sessions_table
from fieldcheck_server.domain import accounts, audit, sessions
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.roles import SYSTEM, Role
from tests.fieldcheck_server.operator_client import (
    BASE_URL,
    FAST,
    PASSWORD,
    csrf_of,
    make_user,
    now_ms,
    operator_app,
    sign_in,
)


@pytest.fixture
def web(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        yield client


def _login(web: TestClient, username: str, password: str = PASSWORD) -> "object":
    form = csrf_of(web.get("/login").text)
    return web.post("/login", data={"username": username, "password": password,
                                    "csrf_token": form}, follow_redirects=False)


def test_the_session_cookie_is_secure_httponly_samesite_strict(
    web: TestClient, db: Database
) -> None:
    user = make_user(db, Role.OFFICER)
    answer = _login(web, user.username)
    assert answer.status_code == 303 and answer.headers["location"] == "/fleet"
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("fieldcheck_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags
    token = cookie.split(";")[0].split("=", 1)[1]
    with db.read() as tx:
        stored = [row.token_hash for row in tx.connection.execute(select(sessions_table))]
    assert len(stored) == 1 and token not in stored[0]  # only its hash is kept
    assert web.get("/api/v1/me").json()["username"] == user.username


def test_a_wrong_password_and_an_unknown_name_read_the_same(
    web: TestClient, db: Database
) -> None:
    user = make_user(db, Role.OFFICER)
    wrong = _login(web, user.username, "not the password at all")
    unknown = _login(web, "nobody-here")
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong username or password" in wrong.text
    assert "wrong username or password" in unknown.text
    assert web.get("/api/v1/me").status_code == 401


def test_repeated_failures_lock_the_account_for_a_time(
    web: TestClient, db: Database, clock: ManualClock
) -> None:
    user = make_user(db, Role.TECHNICIAN)
    for _ in range(FAST.max_failures):
        assert _login(web, user.username, "guess guess guess").status_code == 401
    locked = _login(web, user.username)
    assert locked.status_code == 401 and "locked" in locked.text
    failures = [e for e in audit.newest(db, 20) if e.action == "login.failed"]
    assert len(failures) == FAST.max_failures and "locked_until" in failures[0].detail
    clock.advance(FAST.lockout_ms / 1000 + 1)
    assert _login(web, user.username).status_code == 303


def test_an_admin_can_unlock_sooner(web: TestClient, db: Database) -> None:
    user = make_user(db, Role.TECHNICIAN)
    for _ in range(FAST.max_failures):
        _login(web, user.username, "guess guess guess")
    accounts.unlock(db, user.username, 0, SYSTEM)
    assert _login(web, user.username).status_code == 303


def test_an_idle_session_expires(web: TestClient, db: Database, clock: ManualClock) -> None:
    sign_in(web, db, Role.AUDITOR)
    clock.advance(FAST.session_idle_ms / 1000 - 60)
    assert web.get("/api/v1/me").status_code == 200
    clock.advance(FAST.session_idle_ms / 1000 + 1)
    assert web.get("/api/v1/me").status_code == 401
    assert web.get("/account", follow_redirects=False).headers["location"] == "/login"


def test_a_busy_session_still_ends_at_its_absolute_expiry(
    web: TestClient, db: Database, clock: ManualClock
) -> None:
    sign_in(web, db, Role.AUDITOR)
    step = FAST.session_idle_ms / 1000 / 2
    for _ in range(int(FAST.session_absolute_ms / 1000 / step) - 1):
        clock.advance(step)
        assert web.get("/api/v1/me").status_code == 200
    clock.advance(step)
    assert web.get("/api/v1/me").status_code == 401


def test_logout_needs_the_csrf_token_and_ends_the_session(web: TestClient, db: Database) -> None:
    csrf = sign_in(web, db, Role.OFFICER)
    refused = web.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert web.get("/api/v1/me").status_code == 200
    done = web.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert web.get("/api/v1/me").status_code == 401
    assert [e.action for e in audit.newest(db, 2)] == ["logout", "login"]


def test_the_login_form_refuses_a_post_without_its_cookie(web: TestClient, db: Database) -> None:
    user = make_user(db, Role.OFFICER)
    form = csrf_of(web.get("/login").text)
    web.cookies.clear()
    answer = web.post("/login", data={"username": user.username, "password": PASSWORD,
                                      "csrf_token": form}, follow_redirects=False)
    assert answer.status_code == 403 and "expired" in answer.text
    assert web.get("/api/v1/me").status_code == 401


def test_disabling_an_account_ends_its_session(web: TestClient, db: Database) -> None:
    sign_in(web, db, Role.OFFICER, username="olu")
    accounts.set_disabled(db, "olu", True, 0, SYSTEM)
    assert web.get("/api/v1/me").status_code == 401
    assert _login(web, "olu").status_code == 401


def test_a_role_change_ends_the_session(web: TestClient, db: Database) -> None:
    sign_in(web, db, Role.OFFICER, username="olu")
    accounts.set_role(db, "olu", Role.AUDITOR, 0, SYSTEM)
    assert web.get("/api/v1/me").status_code == 401
    _login(web, "olu")
    assert web.get("/api/v1/me").json()["role"] == "auditor"


def test_totp_is_a_second_step_and_a_code_works_once(
    web: TestClient, db: Database, clock: ManualClock
) -> None:
    user = make_user(db, Role.OFFICER)
    uri = accounts.enable_totp(db, FAST, user.username, 0, SYSTEM)
    totp = pyotp.parse_uri(uri)
    first = _login(web, user.username)
    assert first.headers["location"] == "/login/totp"
    half = web.cookies["fieldcheck_session"]
    assert web.get("/api/v1/me").status_code == 401  # a password alone opens nothing
    assert web.get("/account", follow_redirects=False).headers["location"] == "/login/totp"
    page = web.get("/login/totp")
    wrong = web.post("/login/totp", data={"code": "000000" if totp.at(clock.now()) != "000000"
                                          else "111111", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401
    code = totp.at(clock.now())
    done = web.post("/login/totp", data={"code": code, "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert done.status_code == 303 and web.get("/api/v1/me").status_code == 200
    # The full session has a fresh token: the one seen before the code opens nothing.
    assert web.cookies["fieldcheck_session"] != half
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as stale:
        stale.cookies.set("fieldcheck_session", half)
        assert stale.get("/api/v1/me").status_code == 401
    web.cookies.clear()
    _login(web, user.username)
    again = web.post("/login/totp", data={"code": code,
                                          "csrf_token": csrf_of(web.get("/login/totp").text)})
    assert again.status_code == 401 and "already used" in again.text


def test_a_session_waiting_for_its_code_expires_in_minutes(
    web: TestClient, db: Database, clock: ManualClock
) -> None:
    user = make_user(db, Role.OFFICER)
    uri = accounts.enable_totp(db, FAST, user.username, 0, SYSTEM)
    _login(web, user.username)
    page = web.get("/login/totp")
    assert page.status_code == 200
    clock.advance(sessions.TOTP_STAGE_MS / 1000 + 1)
    late = web.post("/login/totp", data={"code": pyotp.parse_uri(uri).at(clock.now()),
                                         "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert late.status_code == 303 and late.headers["location"] == "/login"
    assert web.get("/api/v1/me").status_code == 401


def test_the_default_hash_is_argon2id_with_rfc_9106_parameters(db: Database) -> None:
    settings = AccessSettings()
    assert settings.hasher.type.name == "ID"
    assert (settings.hasher.time_cost, settings.hasher.memory_cost) == (3, 65536)
    row = accounts.add_user(db, settings, "ana", PASSWORD, Role.ADMIN, now_ms(ManualClock()),
                            SYSTEM)
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert accounts.authenticate(db, settings, "ana", PASSWORD, 1).id == row.id


def test_a_refused_page_is_a_page_that_says_why(web: TestClient, db: Database) -> None:
    csrf = sign_in(web, db, Role.OFFICER)
    answer = web.get("/fleet")
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert "this needs the role admin, technician; you are officer" in answer.text
    forged = web.post("/logout", data={"csrf_token": csrf[::-1]})
    assert forged.status_code == 403 and "CSRF token" in forged.text
    assert 'action="/logout"' in forged.text  # still signed in, and shown so


def test_the_holder_changes_their_password_and_other_sessions_end(
    web: TestClient, db: Database, clock: ManualClock
) -> None:
    csrf = sign_in(web, db, Role.OFFICER, username="olu")
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as other:
        assert _login(other, "olu").status_code == 303
        new = "a much longer new passphrase"
        wrong = web.post("/account/password", data={"current": "nope nope nope", "new": new,
                                                    "again": new, "csrf_token": csrf})
        assert wrong.status_code == 400 and "current password is wrong" in wrong.text
        differ = web.post("/account/password", data={"current": PASSWORD, "new": new,
                                                     "again": new + "!", "csrf_token": csrf})
        assert differ.status_code == 400 and "differ" in differ.text
        short = web.post("/account/password", data={"current": PASSWORD, "new": "short",
                                                    "again": "short", "csrf_token": csrf})
        assert short.status_code == 400 and "at least 12" in short.text
        done = web.post("/account/password", data={"current": PASSWORD, "new": new,
                                                   "again": new, "csrf_token": csrf})
        assert done.status_code == 200 and "Password changed" in done.text
        assert web.get("/api/v1/me").status_code == 200  # this session stays
        assert other.get("/api/v1/me").status_code == 401  # the other one ended
    assert _login(web, "olu").status_code == 401
    assert _login(web, "olu", new).status_code == 303
    assert "user.password" in [e.action for e in audit.newest(db, 5)]
