"""The shell's Jinja2 environment (autoescaped templates in ``api/templates``) and its filters."""

from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fieldcheck_server.api.security import current_session

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def when(ms: int | None) -> str:
    """A stored time as the shell shows it: ``2026-03-01 14:30:05Z``, or a dash."""
    if ms is None:
        return "–"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float | None) -> str:
    """A span as the shell shows it: ``40 s``, ``12 min``, ``5 h``, ``3 d``, or a dash."""
    if seconds is None:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["duration"] = duration


def render(request: Request, name: str, status: int = 200, **values: object) -> HTMLResponse:
    """A page of the shell; ``who`` and ``csrf`` come from the request's session, if any."""
    session = current_session(request)
    values.setdefault("who", session.principal if session else None)
    values.setdefault("csrf", session.csrf_token if session else "")
    return TEMPLATES.TemplateResponse(request, name, values, status_code=status)
