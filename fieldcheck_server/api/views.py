"""The shell's views: the fleet (technicians, admins) and the audit log (auditors, admins)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from fieldcheck_server.api.operator_api import AUDIT_ROLES, DEVICE_ROLES
from fieldcheck_server.api.security import context, require_page
from fieldcheck_server.api.templating import render
from fieldcheck_server.domain import audit, fleet
from fieldcheck_server.domain.fleet import StateFilter
from fieldcheck_server.domain.roles import Principal

AUDIT_SHOWN = 200

router = APIRouter(include_in_schema=False)


@router.get("/fleet", response_class=HTMLResponse)
async def fleet_page(
    request: Request,
    who: Annotated[Principal, Depends(require_page(*DEVICE_ROLES))],
    q: Annotated[str, Query(max_length=64)] = "",
    state: StateFilter = StateFilter.ALL,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Every unit, filtered by state and searched by id or label."""
    ctx = context(request)
    found = await run_in_threadpool(fleet.query, ctx.db, ctx.now_ms(), q, state, page)
    return render(request, "fleet.html", found=found, q=q, state=state.value,
                  states=[s.value for s in StateFilter])


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request, who: Annotated[Principal, Depends(require_page(*AUDIT_ROLES))]
) -> HTMLResponse:
    """The newest audit entries and whether the whole chain verifies."""
    db = context(request).db
    entries = await run_in_threadpool(audit.newest, db, AUDIT_SHOWN)
    report = await run_in_threadpool(audit.verify, db)
    return render(request, "audit.html", entries=entries, report=report)
