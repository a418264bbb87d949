"""The operator side of the app: its shared context, its routers and its response headers."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldcheck_server.api import casework, casework_pages, operator_api, pages, views
from fieldcheck_server.api.security import OperatorContext, PageRefused
from fieldcheck_server.api.templating import render

#: Sent with every operator answer: no framing, no sniffing, no referrer, scripts and styles only
#: from this server (the shell has no inline script), and nothing of it cached.
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
#: The device API keeps its own answers untouched (and its hot path free of extra work).
DEVICE_PREFIX = "/v1/"
STATIC = Path(__file__).with_name("static")


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(DEVICE_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, ctx: OperatorContext) -> None:
    """Add the operator API (and pages) to ``app``, sharing ``ctx``."""
    app.state.operator = ctx
    app.include_router(operator_api.router)
    app.include_router(pages.router)
    app.include_router(views.router)
    app.include_router(casework.router)
    app.include_router(casework_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(PageRefused, _refused_page)


async def _refused_page(request: Request, exc: Exception) -> Response:
    """A refused page as a page of the shell, saying why."""
    assert isinstance(exc, PageRefused)
    return render(request, "refused.html", exc.status_code, message=exc.detail)
