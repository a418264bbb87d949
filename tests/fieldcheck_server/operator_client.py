"""Helpers for operator-side tests: accounts of each role, bearer tokens, signed-in clients.

    app = operator_app(db, clock)
    with TestClient(app, base_url=BASE_URL) as client:
        headers = bearer(db, Role.OFFICER)                   # Authorization: Bearer ...
        csrf = sign_in(client, db, Role.ADMIN)               # session cookie now in client
        client.post("/api/v1/...", json=..., headers={"X-CSRF-Token": csrf})

``BASE_URL`` is https: the session cookie is Secure, so a client on http would never send it.
"""

import itertools
import re

from argon2 import PasswordHasher, profiles
from fastapi import FastAPI

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db import access
from fieldcheck_server.db.access import UserRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import accounts, tokens
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.domain.roles import SYSTEM, Role
from fieldcheck_server.secret_box import SecretBox
from tests.fieldcheck_server.serverkit import LIMITS

BASE_URL = "https://testserver"
PASSWORD = "correct horse battery staple"
#: argon2id at its cheapest, so a test signs in in microseconds (the default is tested apart).
FAST = AccessSettings(hasher=PasswordHasher.from_parameters(profiles.CHEAPEST),
                      secrets=SecretBox(bytes(range(32))))
_names = itertools.count(1)


def operator_app(db: Database, clock: ManualClock, settings: AccessSettings = FAST) -> FastAPI:
    """The whole app (device and operator side) on ``db``."""
    return create_app(IngestService(db, clock, LIMITS), access=settings)


def make_user(
    db: Database, role: Role, username: str | None = None, password: str = PASSWORD,
    settings: AccessSettings = FAST,
) -> UserRow:
    """An enabled account of ``role`` (and a first admin before it, so the server is open)."""
    with db.read() as tx:
        admins = access.count_active(tx, Role.ADMIN.value)
    if admins == 0 and role is not Role.ADMIN:
        accounts.add_user(db, settings, f"admin{next(_names)}", PASSWORD, Role.ADMIN, 0, SYSTEM)
    name = username or f"{role.value}{next(_names)}"
    return accounts.add_user(db, settings, name, password, role, 0, SYSTEM)


def bearer(db: Database, role: Role, username: str | None = None) -> dict[str, str]:
    """Headers carrying a fresh API token of a new account of ``role``."""
    user = make_user(db, role, username)
    made = tokens.create(db, user.username, "tests", None, 0, SYSTEM)
    return {"Authorization": f"Bearer {made.secret}"}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: object, db: Database, role: Role, username: str | None = None) -> str:
    """Sign a new account of ``role`` in through the login form; returns the session's CSRF
    token (for X-CSRF-Token on JSON calls and csrf_token in forms)."""
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    user = make_user(db, role, username)
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/account").text)


def now_ms(clock: ManualClock) -> int:
    """The clock's time in ms."""
    return to_ms(clock.now())
