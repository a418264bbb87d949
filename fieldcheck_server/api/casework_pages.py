"""The casework pages: people, a person's timeline with its map, the review queue.

Server-rendered (Jinja2, autoescaped) on the shell's base template; the only script is the
vendored Leaflet and the map script, both served from here (no CDN, no inline script). Forms
carry the session's CSRF token, which ``require_page`` checks on every POST.
"""

import logging
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from fieldcheck_server.api.casework import (
    DECIDERS,
    EXPECTED,
    READERS,
    CaseNumber,
    CommandIn,
    ReviewId,
    command_key_of,
    queue_call,
    status_of,
)
from fieldcheck_server.api.casework_json import item_json, person_json, timeline_json
from fieldcheck_server.api.security import context, require_page
from fieldcheck_server.api.templating import render
from fieldcheck_server.domain import people, review, review_images
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.domain.timeline import timeline
from fieldcheck_server.errors import CaseworkError, Forbidden, RegistryError

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
PageReader = Annotated[Principal, Depends(require_page(*READERS))]
PageDecider = Annotated[Principal, Depends(require_page(*DECIDERS))]
STATIC = "/static"
BASE_CSP = ("default-src 'self'; img-src 'self' data:{tiles}; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'")


def tile_settings(request: Request) -> tuple[str, str]:
    """(tile URL template, attribution); an empty URL means no tiles (a blank map)."""
    return (str(getattr(request.app.state, "tile_url", "") or ""),
            str(getattr(request.app.state, "tile_attribution", "") or ""))


def _csp(tile_url: str) -> str:
    """The page's policy: tiles may come from the configured tile server, nothing else."""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    origin = f"{parts.scheme}://{parts.netloc}".replace("://a.", "://*.") if parts.netloc else ""
    return BASE_CSP.format(tiles=f" {origin}" if origin else "")


def _error_page(request: Request, err: Exception) -> HTMLResponse:
    message = getattr(err, "message", str(err))
    return render(request, "refused.html", status_of(err), message=message)


@router.get("/people", response_class=HTMLResponse)
async def people_page(request: Request, who: PageReader) -> Response:
    """The persons the caller may see."""
    db = context(request).db
    try:
        found = await run_in_threadpool(people.people, db, who)
    except Forbidden as err:
        return _error_page(request, err)
    return render(request, "casework/people.html", people=[person_json(p) for p in found])


@router.get("/people/{case_number}", response_class=HTMLResponse)
async def timeline_page(request: Request, case_number: CaseNumber, who: PageReader,
                        notice: str = "") -> Response:
    """A person's timeline: check-ins, events, the map and the expected windows."""
    ctx = context(request)
    try:
        view = await run_in_threadpool(timeline, ctx.db, who, case_number, ctx.clock.now(),
                                       EXPECTED)
        device_id = await run_in_threadpool(_device_now, ctx, who, case_number)
    except (CaseworkError, Forbidden) as err:
        return _error_page(request, err)
    tile_url, attribution = tile_settings(request)
    response = render(request, "casework/timeline.html", data=timeline_json(view),
                      device_id=device_id, can_command=who.role in DECIDERS, notice=notice[:200],
                      tile_url=tile_url, tile_attribution=attribution, static=STATIC)
    response.headers["content-security-policy"] = _csp(tile_url)
    return response


def _device_now(ctx: Any, who: Principal, case_number: str) -> str | None:
    try:
        return people.current_device(ctx.db, who, case_number)
    except CaseworkError:
        return None


@router.post("/people/{case_number}/commands")
async def command_form(request: Request, case_number: CaseNumber, who: PageDecider,
                       kind: Annotated[str, Form(max_length=16)],
                       text: Annotated[str, Form(max_length=500)] = "") -> Response:
    """The timeline's buttons: request a check-in, send a message."""
    ctx, key = context(request), command_key_of(request)
    if kind not in ("checkin", "message"):
        return _error_page(request, CaseworkError("unknown command: use the page's buttons"))
    call = CommandIn(kind="checkin" if kind == "checkin" else "message", text=text or None)
    try:
        command_id = await run_in_threadpool(queue_call, ctx, key, who, case_number, call)
    except (CaseworkError, Forbidden, RegistryError) as err:
        return _error_page(request, err)
    notice = quote(f"queued {kind} {command_id}: it goes out with the unit's next upload")
    return RedirectResponse(f"/people/{quote(case_number)}?notice={notice}", status_code=303)


@router.get("/review", response_class=HTMLResponse)
async def review_page(request: Request, who: PageReader, notice: str = "") -> Response:
    """The open review items the caller may see, each with a decision form."""
    ctx = context(request)
    try:
        items = await run_in_threadpool(_queue_rows, ctx.db, who, ctx.now_ms())
    except Forbidden as err:
        return _error_page(request, err)
    return render(request, "casework/review.html", items=items, can_decide=who.role in DECIDERS,
                  notice=notice[:200])


def _queue_rows(db: Any, who: Principal, now_ms: int) -> list[dict[str, Any]]:
    items = review.queue(db, who)
    numbers = {p.row.id: p.row.case_number for p in people.people(db, who)}
    return [item_json(i) | {"case_number": numbers.get(i.row.person_id or -1),
                            "frames": review_images.frames(db, who, i.row.id, now_ms)}
            for i in items]


@router.post("/review/{review_id}/decision")
async def decision_form(request: Request, review_id: ReviewId, who: PageDecider,
                        decision: Annotated[str, Form(max_length=16)],
                        reason: Annotated[str, Form(max_length=review.MAX_REASON)]) -> Response:
    """Record a decision from the queue page."""
    ctx = context(request)
    try:
        await run_in_threadpool(review.decide, ctx.db, who, review_id, decision, reason,
                                ctx.now_ms())
    except (CaseworkError, Forbidden) as err:
        return _error_page(request, err)
    notice = quote(f"review {review_id}: {decision} recorded")
    return RedirectResponse(f"/review?notice={notice}", status_code=303)


@router.get("/review/{review_id}/images/{frame}")
async def review_image(request: Request, review_id: ReviewId,
                       frame: Annotated[int, FastPath(ge=0, le=1000)],
                       who: PageDecider) -> Response:
    """One sealed frame of a failed check-in, opened for a reviewer (and audited)."""
    ctx = context(request)
    key: bytes | None = getattr(request.app.state, "review_key", None)
    try:
        jpeg = await run_in_threadpool(review_images.open_frame, ctx.db, who, review_id, frame,
                                       key, ctx.now_ms())
    except (CaseworkError, Forbidden) as err:
        return _error_page(request, err)
    return Response(jpeg, media_type="image/jpeg", headers={"cache-control": "no-store"})
