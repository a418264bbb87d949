"""Every route of the app's own route table against every role and no session.

``EXPECTED`` declares, per (method, path), the status each caller gets. The test reads the
routes from the app itself, so a route added without a line here fails (and so does a line for a
route that no longer exists). HEAD is answered wherever GET is and is not listed separately.
Operator routes are probed with a session cookie (and its CSRF token on unsafe methods) and again
with a bearer token; before the first admin exists every gated route answers 503.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain.roles import Role
from tests.fieldcheck_server.operator_client import (
    BASE_URL,
    bearer,
    make_user,
    operator_app,
    sign_in,
)
from tests.firmware.sync.devicesim import SimDevice

ADM, OFF, TEC, AUD = Role.ADMIN, Role.OFFICER, Role.TECHNICIAN, Role.AUDITOR
ALL = (ADM, OFF, TEC, AUD)


@dataclass(frozen=True)
class Expect:
    """The status for no session and for each role; ``gated``: 503 before the first admin."""

    anonymous: int
    roles: dict[Role, int] = field(default_factory=dict)
    gated: bool = False
    #: Where a bearer token gets another answer than a session (e.g. a password change).
    by_token: int | None = None

    def status(self, role: Role | None, token: bool = False) -> int:
        if role is None:
            return self.anonymous
        if token and self.by_token is not None:
            return self.by_token
        return self.roles.get(role, self.anonymous)


def same(status: int) -> Expect:
    """A public route: everyone gets ``status``."""
    return Expect(status)


def api(*allowed: Role) -> Expect:
    """A JSON route for ``allowed``: 401 without credentials, 403 for other roles."""
    return Expect(401, {role: 200 if role in allowed else 403 for role in ALL}, gated=True)


def page(*allowed: Role, ok: int = 200) -> Expect:
    """An HTML page for ``allowed``: to the login page without a session, 403 for others."""
    return Expect(303, {role: ok if role in allowed else 403 for role in ALL}, gated=True)


def missing(expect: Expect) -> Expect:
    """The same, but a role let in asks for something that does not exist: 404."""
    return Expect(expect.anonymous, {role: 404 if status in (200, 303) else status
                                     for role, status in expect.roles.items()}, expect.gated)


EXPECTED: dict[tuple[str, str], Expect] = {
    # The device side and what anyone may read.
    ("GET", "/openapi.json"): same(200),
    ("GET", "/v1/health"): same(200),
    ("POST", "/v1/records"): same(401),  # device-signed headers or nothing
    ("GET", "/static"): same(200),
    # Signing in.
    ("GET", "/"): same(303),
    ("GET", "/login"): same(200),
    ("POST", "/login"): same(403),  # without the login form's cookie
    ("GET", "/login/totp"): same(303),  # no half-signed-in session: back to /login
    ("POST", "/login/totp"): same(303),
    ("POST", "/logout"): page(*ALL, ok=303),
    ("GET", "/account"): page(*ALL),
    # The probe's current password is wrong (400); a token may not change a password (403).
    ("POST", "/account/password"): Expect(303, {r: 400 for r in ALL}, gated=True, by_token=403),
    # The operator API.
    ("GET", "/api/v1/me"): api(*ALL),
    ("POST", "/api/v1/devices"): api(ADM, TEC),
    ("GET", "/api/v1/devices"): api(ADM, TEC),
    ("GET", "/api/v1/fleet"): api(ADM, TEC),
    ("GET", "/api/v1/audit"): api(ADM, AUD),
    ("GET", "/api/v1/audit/verify"): api(ADM, AUD),
    ("GET", "/api/v1/users"): api(ADM),
    ("GET", "/api/v1/tokens"): api(ADM),
    # Probed with a token id that does not exist: an admin is told so (404).
    ("POST", "/api/v1/tokens/{token_id}/revoke"): Expect(
        401, {r: 404 if r is ADM else 403 for r in ALL}, gated=True),
    # The views.
    ("GET", "/fleet"): page(ADM, TEC),
    ("GET", "/audit"): page(ADM, AUD),
    ("GET", "/admin"): page(ADM),
    ("POST", "/admin/tokens/{token_id}/revoke"): page(ADM, ok=303),
    # Casework (people, timelines, the review queue): probed with ids that do not exist, so a
    # role let in gets the domain's 404 (an unknown person and one off the caseload look alike).
    ("GET", "/api/v1/persons"): api(ADM, OFF, AUD),
    ("GET", "/api/v1/persons/{case_number}/timeline"): missing(api(ADM, OFF, AUD)),
    ("POST", "/api/v1/persons/{case_number}/commands"): missing(api(ADM, OFF)),
    ("GET", "/api/v1/persons/{case_number}/export"): missing(api(ADM, OFF)),
    ("GET", "/api/v1/reviews"): api(ADM, OFF, AUD),
    ("GET", "/api/v1/reviews/{review_id}"): missing(api(ADM, OFF, AUD)),
    ("POST", "/api/v1/reviews/{review_id}/decision"): missing(api(ADM, OFF)),
    ("GET", "/people"): page(ADM, OFF, AUD),
    ("GET", "/people/{case_number}"): missing(page(ADM, OFF, AUD)),
    ("POST", "/people/{case_number}/commands"): missing(page(ADM, OFF)),
    ("GET", "/review"): page(ADM, OFF, AUD),
    ("POST", "/review/{review_id}/decision"): missing(page(ADM, OFF)),
    ("GET", "/review/{review_id}/images/{frame}"): missing(page(ADM, OFF)),
}

#: What a probe sends, where a route needs more than its path.
_UNIT = SimDevice(61)
PROBES: dict[tuple[str, str], dict[str, object]] = {
    ("GET", "/static"): {"url": "/static/shell.css"},
    ("POST", "/v1/records"): {"content": b"\x80", "headers": {"content-type": "application/cbor"}},
    ("POST", "/login"): {"data": {"username": "x", "password": "y", "csrf_token": "z"}},
    ("POST", "/login/totp"): {"data": {"code": "123456", "csrf_token": "z"}},
    ("POST", "/account/password"): {"data": {"current": "wrong", "new": "n" * 12,
                                             "again": "n" * 12}},
    ("POST", "/api/v1/tokens/{token_id}/revoke"): {"url": "/api/v1/tokens/999/revoke"},
    ("POST", "/admin/tokens/{token_id}/revoke"): {"url": "/admin/tokens/999/revoke"},
    ("POST", "/api/v1/devices"): {"json": {"device_id": _UNIT.device_id,
                                           "public_key": _UNIT.public_key.hex(), "label": "m"}},
    ("GET", "/api/v1/persons/{case_number}/timeline"): {"url": "/api/v1/persons/NO-1/timeline"},
    ("POST", "/api/v1/persons/{case_number}/commands"): {
        "url": "/api/v1/persons/NO-1/commands", "json": {"kind": "checkin"}},
    ("GET", "/api/v1/persons/{case_number}/export"): {
        "url": "/api/v1/persons/NO-1/export?since=2026-11-24&until=2026-11-25"},
    ("GET", "/api/v1/reviews/{review_id}"): {"url": "/api/v1/reviews/999999"},
    ("POST", "/api/v1/reviews/{review_id}/decision"): {
        "url": "/api/v1/reviews/999999/decision", "json": {"decision": "finding", "reason": "xyz"}},
    ("GET", "/people/{case_number}"): {"url": "/people/NO-1"},
    ("POST", "/people/{case_number}/commands"): {"url": "/people/NO-1/commands",
                                                 "data": {"kind": "checkin"}},
    ("POST", "/review/{review_id}/decision"): {
        "url": "/review/999999/decision", "data": {"decision": "finding", "reason": "xyz"}},
    ("GET", "/review/{review_id}/images/{frame}"): {"url": "/review/999999/images/0"},
}
#: Probed last: it ends the session the other probes use.
LAST = ("POST", "/logout")


def app_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, read from its route table."""
    found = set()
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(context.original_route, Mount):
            found.add(("GET", str(context.path)))
            continue
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, str(context.path)))
    return found


def probe(client: TestClient, key: tuple[str, str], headers: dict[str, str]) -> int:
    method, path = key
    options = dict(PROBES.get(key, {}))
    url = str(options.pop("url", path))
    sent = {**headers, **dict(options.pop("headers", {}))}  # type: ignore[arg-type]
    answer = client.request(method, url, headers=sent, follow_redirects=False, **options)
    return answer.status_code


def ordered() -> list[tuple[str, str]]:
    return sorted(EXPECTED, key=lambda key: key == LAST)


@pytest.fixture
def web(db: Database, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(operator_app(db, clock), base_url=BASE_URL) as client:
        yield client


def test_every_route_is_declared(web: TestClient) -> None:
    routes = app_routes(web)
    assert routes - EXPECTED.keys() == set(), "routes with no line in EXPECTED"
    assert EXPECTED.keys() - routes == set(), "lines in EXPECTED for routes that do not exist"


def _mismatches(web: TestClient, role: Role | None, headers: dict[str, str],
                unsafe_headers: dict[str, str]) -> dict[tuple[str, str], tuple[int, int]]:
    wrong = {}
    token = "Authorization" in headers
    for key in ordered():
        sent = headers if key[0] in ("GET", "HEAD") else {**headers, **unsafe_headers}
        got, want = probe(web, key, sent), EXPECTED[key].status(role, token)
        if got != want:
            wrong[key] = (got, want)
    return wrong


@pytest.mark.parametrize("role", [None, *ALL], ids=lambda r: r.value if r else "no-session")
def test_the_matrix_with_sessions(web: TestClient, db: Database, role: Role | None) -> None:
    if role is None:
        make_user(db, Role.ADMIN)
        csrf = ""
    else:
        csrf = sign_in(web, db, role)
    assert _mismatches(web, role, {}, {"X-CSRF-Token": csrf}) == {}, "(got, expected)"


@pytest.mark.parametrize("role", ALL, ids=lambda r: r.value)
def test_the_matrix_with_bearer_tokens(web: TestClient, db: Database, role: Role) -> None:
    assert _mismatches(web, role, bearer(db, role), {}) == {}, "(got, expected)"


def test_before_the_first_admin_only_public_routes_answer(web: TestClient) -> None:
    wrong = {}
    for key in ordered():
        expect = EXPECTED[key]
        got, want = probe(web, key, {}), 503 if expect.gated else expect.anonymous
        if got != want:
            wrong[key] = (got, want)
    assert wrong == {}, "(got, expected)"


@pytest.mark.parametrize("role", ALL, ids=lambda r: r.value)
def test_a_session_without_its_csrf_token_changes_nothing(
    web: TestClient, db: Database, role: Role
) -> None:
    sign_in(web, db, role)
    for key in ordered():
        expect = EXPECTED[key]
        if key[0] == "GET" or not expect.gated:
            continue
        assert probe(web, key, {}) == 403, key
        assert probe(web, key, {"X-CSRF-Token": "forged"}) == 403, key
    assert web.get("/api/v1/me").status_code == 200  # and the session still works
