"""The shell's views: the fleet (technicians, admins) and the audit log (auditors, admins)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from fieldcheck_server.api.operator_api import (
    ADMIN_ONLY,
    AUDIT_ROLES,
    DEVICE_ROLES,
    RowId,
    token_views,
)
from fieldcheck_server.api.security import context, require_page
from fieldcheck_server.api.templating import render
from fieldcheck_server.domain import accounts, audit, fleet, tokens
from fieldcheck_server.domain.fleet import StateFilter
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import AccountError

AUDIT_SHOWN = 200

router = APIRouter(include_in_schema=False)


@router.get("/fleet", response_class=HTMLResponse)
async def fleet_page(
    request: Request,
    who: Annotated[Principal, Depends(require_page(*DEVICE_ROLES))],
    q: Annotated[str, Query(max_length=64)] = "",
    state: StateFilter = StateFilter.ALL,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
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


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(
    request: Request, who: Annotated[Principal, Depends(require_page(*ADMIN_ONLY))],
    message: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Accounts and API tokens; tokens can be revoked here, the rest is `fieldcheck admin`."""
    users = await run_in_threadpool(accounts.users, context(request).db)
    listed = await run_in_threadpool(token_views, request)
    return render(request, "admin.html", users=users, tokens=listed, message=message)


@router.post("/admin/tokens/{token_id}/revoke", response_class=RedirectResponse)
async def admin_revoke_token(
    token_id: RowId, request: Request,
    who: Annotated[Principal, Depends(require_page(*ADMIN_ONLY))],
) -> RedirectResponse:
    """Revoke a token from the admin page (CSRF checked by ``require_page``)."""
    ctx = context(request)
    try:
        await run_in_threadpool(tokens.revoke, ctx.db, token_id, ctx.now_ms(), who)
    except AccountError:
        return RedirectResponse("/admin?message=that+token+was+already+revoked", status_code=303)
    return RedirectResponse("/admin", status_code=303)
