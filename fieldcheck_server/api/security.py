"""Who is asking: the session cookie or a bearer token, the role check, CSRF, the bootstrap gate.

Every operator route declares ``Depends(require(Role.X, ...))``. The dependency answers
401 (nobody signed in), 403 (signed in, wrong role, or a cookie request without its CSRF token)
or 503 (no admin exists yet), and hands the route the :class:`Principal`. A cookie-authenticated
request that changes something must carry the session's CSRF token (form field ``csrf_token`` or
header ``X-CSRF-Token``); a bearer token is no ambient credential and needs none.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import accounts, sessions, tokens
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.roles import Principal, Role
from fieldcheck_server.domain.sessions import Session, Stage

logger = logging.getLogger(__name__)

__all__ = ["Principal", "Role", "require", "require_page", "OperatorContext", "context"]

SESSION_COOKIE = "fieldcheck_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_ADMIN = (
    "no admin account exists yet: on the server run `fieldcheck admin create --username NAME`"
)
#: Declared so the OpenAPI spec names both ways in; the credentials are read by ``_authenticate``.
BEARER = HTTPBearer(auto_error=False, description="an API token: `fieldcheck admin token create`")
COOKIE = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                      description="the session cookie /login sets (unsafe methods also need "
                      "X-CSRF-Token)")
SIGN_IN = "sign in at /login, or send Authorization: Bearer TOKEN (`fieldcheck admin token create`)"


@dataclass
class OperatorContext:
    """What the operator routes share (kept on ``app.state.operator``)."""

    db: Database
    clock: Clock
    settings: AccessSettings = field(default_factory=AccessSettings)
    #: Once an admin exists the bootstrap gate is open for good (the last admin cannot be
    #: disabled or demoted), so it is asked of the database only until then.
    admin_seen: bool = False

    def now_ms(self) -> int:
        """The server's time in ms."""
        return to_ms(self.clock.now())

    def has_admin(self) -> bool:
        """Whether the first admin exists (cached once true)."""
        if not self.admin_seen:
            self.admin_seen = accounts.has_admin(self.db)
        return self.admin_seen


def context(request: Request) -> OperatorContext:
    """The operator context of the app serving ``request``."""
    ctx: OperatorContext = request.app.state.operator
    return ctx


class LoginRequired(HTTPException):
    """A page asked for without a session: the app answers with a redirect to the login page."""

    def __init__(self, location: str) -> None:
        super().__init__(303, "sign in first", headers={"Location": location})


class PageRefused(HTTPException):
    """A page refused (wrong role, CSRF, no admin yet): answered as an HTML page, not JSON."""


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency for JSON routes: the principal, if it holds one of ``roles``."""
    return _dependency(frozenset(roles), page=False)


def require_page(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """The same for HTML pages: without a session the answer is a redirect to /login."""
    return _dependency(frozenset(roles), page=True)


def _dependency(roles: frozenset[Role], page: bool) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
        _cookie: Annotated[str | None, Depends(COOKIE)],
    ) -> Principal:
        refused = PageRefused if page else HTTPException
        ctx = context(request)
        if not await run_in_threadpool(ctx.has_admin):
            raise refused(503, NO_ADMIN)
        principal, session = await run_in_threadpool(_authenticate, ctx, request)
        if principal is None:
            if page:
                raise LoginRequired("/login/totp" if session is not None else "/login")
            raise HTTPException(401, SIGN_IN, headers={"WWW-Authenticate": "Bearer"})
        # Kept before the checks below, so a refused page still shows who is signed in.
        request.state.principal = principal
        request.state.session = session
        if principal.role not in roles:
            allowed = ", ".join(sorted(role.value for role in roles))
            raise refused(403, f"this needs the role {allowed}; you are {principal.role}")
        if session is not None and request.method not in SAFE_METHODS:
            if not sessions.csrf_matches(session, await _offered_csrf(request)):
                raise refused(403, "missing or wrong CSRF token: reload the page and retry")
        return principal

    return dependency


def _authenticate(
    ctx: OperatorContext, request: Request
) -> tuple[Principal | None, Session | None]:
    """(principal, session): the bearer token wins over a cookie; a session still at its TOTP
    stage gives (None, session)."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        return tokens.resolve(ctx.db, credential.strip(), ctx.now_ms()), None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None, None
    session = sessions.resolve(ctx.db, ctx.settings, cookie, ctx.now_ms())
    if session is None:
        return None, None
    if session.stage is not Stage.FULL:
        return None, session
    return session.principal, session


async def _offered_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette keeps it; the route reads the same form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def current_session(request: Request) -> Session | None:
    """The session a ``require_page`` dependency found (None for a bearer token)."""
    session: Session | None = getattr(request.state, "session", None)
    return session
