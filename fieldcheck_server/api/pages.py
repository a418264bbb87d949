"""The web shell's sign-in pages: login (password, then TOTP where set), logout, the account page.

Server-rendered with Jinja2 (autoescaped), no script. The login form is protected against
login CSRF by a double-submit cookie (there is no session yet); every later form carries the
session's synchroniser token, which ``require_page`` checks.
"""

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from fieldcheck_server.api.security import (
    CSRF_FIELD,
    NO_ADMIN,
    SESSION_COOKIE,
    context,
    require_page,
)
from fieldcheck_server.api.templating import render
from fieldcheck_server.domain import accounts, sessions
from fieldcheck_server.domain.roles import Principal, Role
from fieldcheck_server.domain.sessions import Stage
from fieldcheck_server.errors import AccessDenied, AccountError

logger = logging.getLogger(__name__)

LOGIN_COOKIE = "fieldcheck_login"
HOME = "/fleet"
ANY_ROLE = tuple(Role)

router = APIRouter(include_in_schema=False)


def _cookie(response: Response, name: str, value: str, max_age_s: int, path: str = "/") -> None:
    response.set_cookie(
        name, value, max_age=max_age_s, path=path, secure=True, httponly=True, samesite="strict"
    )


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    """The shell starts at the fleet page (which sends a stranger to the login page)."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    """The login form (and, before the first admin exists, how to make one)."""
    has_admin = await run_in_threadpool(context(request).has_admin)
    return _login_form(request, "" if has_admin else NO_ADMIN, 200)


def _login_form(request: Request, message: str, status: int) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status, login_csrf=token, message=message)
    _cookie(response, LOGIN_COOKIE, token, 3600, path="/login")
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=64)] = "",
) -> Response:
    """Check the password; a session cookie and on to the fleet (or the TOTP page)."""
    ctx = context(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        return _login_form(request, "the login form expired: sign in again", 403)
    try:
        row = await run_in_threadpool(
            accounts.authenticate, ctx.db, ctx.settings, username, password, ctx.now_ms()
        )
    except AccessDenied as err:
        return _login_form(request, err.message, 401)
    token, session = await run_in_threadpool(
        sessions.open_session, ctx.db, ctx.settings, row, ctx.now_ms()
    )
    target = HOME if session.stage is Stage.FULL else "/login/totp"
    response = RedirectResponse(target, status_code=303)
    _cookie(response, SESSION_COOKIE, token, ctx.settings.session_absolute_ms // 1000)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def _pending(request: Request) -> sessions.Session | None:
    """The session behind a TOTP-stage cookie, or None."""
    ctx = context(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = await run_in_threadpool(sessions.resolve, ctx.db, ctx.settings, cookie, ctx.now_ms())
    return session if session is not None and session.stage is Stage.TOTP else None


@router.get("/login/totp", response_class=HTMLResponse)
async def totp_page(request: Request) -> Response:
    """The second step for an account with TOTP."""
    session = await _pending(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "totp.html", csrf=session.csrf_token, message="")


@router.post("/login/totp", response_class=HTMLResponse)
async def totp(
    request: Request,
    code: Annotated[str, Form(max_length=12)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=64)] = "",
) -> Response:
    """Check the code; the session becomes a full one."""
    ctx = context(request)
    session = await _pending(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    if not sessions.csrf_matches(session, csrf_token):
        return render(request, "totp.html", 403, csrf=session.csrf_token,
                      message="the form expired: enter the code again")
    try:
        await run_in_threadpool(
            accounts.check_totp, ctx.db, ctx.settings, session.principal.user_id, code,
            ctx.now_ms(),
        )
    except AccessDenied as err:
        return render(request, "totp.html", 401, csrf=session.csrf_token, message=err.message)
    fresh = await run_in_threadpool(
        sessions.complete, ctx.db, ctx.settings, request.cookies[SESSION_COOKIE], ctx.now_ms()
    )
    if fresh is None:
        return RedirectResponse("/login", status_code=303)
    response = RedirectResponse(HOME, status_code=303)
    _cookie(response, SESSION_COOKIE, fresh, ctx.settings.session_absolute_ms // 1000)
    return response


@router.post("/logout", response_class=RedirectResponse)
async def logout(
    request: Request, who: Annotated[Principal, Depends(require_page(*ANY_ROLE))]
) -> RedirectResponse:
    """End the session (the CSRF token was checked by ``require_page``)."""
    ctx = context(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(sessions.close, ctx.db, cookie, ctx.now_ms())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True,
                           samesite="strict")
    return response


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, who: Annotated[Principal, Depends(require_page(*ANY_ROLE))]
) -> HTMLResponse:
    """Who is signed in: the password form and the logout button."""
    return render(request, "account.html", message="", done=False)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    who: Annotated[Principal, Depends(require_page(*ANY_ROLE))],
    current: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
    new: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
    again: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
) -> HTMLResponse:
    """The holder's new password (CSRF checked by ``require_page``); other sessions end."""
    ctx = context(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None or who.token is not None:
        return render(request, "account.html", 403, done=False,
                      message="sign in with your password to change it")
    if new != again:
        return render(request, "account.html", 400, done=False,
                      message="the two new passwords differ; nothing changed")
    try:
        await run_in_threadpool(
            accounts.change_own_password, ctx.db, ctx.settings, who, current, new, ctx.now_ms(),
            sessions.token_hash(cookie),
        )
    except (AccessDenied, AccountError) as err:
        return render(request, "account.html", 400, done=False, message=err.message)
    return render(request, "account.html", done=True, message="")
