"""The operator JSON API under ``/api/v1/``: who am I, device registration, the audit log.

Every route states its roles with ``require``; answers are pydantic models so they appear in the
OpenAPI spec beside the device API. Domain errors become 4xx here and nowhere else.
"""

import logging
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fieldcheck_server.api.security import context, require
from fieldcheck_server.db.tx import DeviceRow
from fieldcheck_server.domain import accounts, audit, fleet, registry, tokens
from fieldcheck_server.domain.fleet import Health, StateFilter
from fieldcheck_server.domain.roles import Principal, Role
from fieldcheck_server.errors import AccountError, RegistryConflict, RegistryError

logger = logging.getLogger(__name__)

API = "/api/v1"
TAG = "operator"


class Me(BaseModel):
    """The signed-in operator."""

    user_id: int
    username: str
    role: Role
    token: str | None = Field(None, description="the API token's name, when one was used")


class DeviceRegistration(BaseModel):
    """A unit to register, as `fieldcheck-device identity show` prints it."""

    device_id: str = Field(..., max_length=64)
    public_key: str = Field(..., max_length=128, description="64 hex digits or base64url")
    label: str = Field("", max_length=200, description="free text, e.g. the serial sticker")


class Device(BaseModel):
    """A registered unit."""

    device_id: str
    public_key: str = Field(..., description="hex")
    label: str
    registered_at: int = Field(..., description="ms since the Unix epoch")
    revoked_at: int | None


class AuditEntry(BaseModel):
    """One entry of the hash-chained audit log."""

    seq: int
    at: int = Field(..., description="ms since the Unix epoch")
    actor: str
    role: str
    action: str
    target: str
    detail: str = Field(..., description="JSON object text")
    prev_hash: str
    entry_hash: str


class ChainStatus(BaseModel):
    """What verifying the whole audit chain found."""

    ok: bool
    entries: int
    head: str = Field(..., description="the newest entry's hash: note it elsewhere")
    problem: str | None


class FleetUnit(BaseModel):
    """One unit's health at a glance."""

    device_id: str
    label: str
    registered_at: int
    revoked_at: int | None
    retired_at: int | None = Field(..., description="decommissioned: its key is never accepted")
    last_seen: int | None = Field(..., description="when its newest record arrived, ms")
    head_seq: int | None
    records: int
    upload_lag_ms: int | None = Field(
        ..., description="how old its newest record was on arrival (a backlog drains slowly)"
    )
    fix_age_s: float | None = Field(..., description="age of its last GPS fix, s")
    battery: str | None = Field(..., description="ok, low or critical, from its last report")
    battery_percent: float | None
    firmware_version: str | None
    model_version: str | None
    health: Health


class FleetAnswer(BaseModel):
    """One page of the fleet."""

    units: list[FleetUnit]
    total: int = Field(..., description="units matching the filter")
    page: int
    pages: int


class Account(BaseModel):
    """An operator account (never its password hash or TOTP secret)."""

    id: int
    username: str
    role: Role
    created_at: int
    disabled: bool
    locked_until: int | None
    totp: bool


class ApiToken(BaseModel):
    """An API token (never the secret: only its first characters)."""

    id: int
    prefix: str
    name: str
    owner: str
    role: Role
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


def _device(row: DeviceRow) -> Device:
    return Device(
        device_id=row.device_id,
        public_key=row.public_key.hex(),
        label=row.label,
        registered_at=row.registered_at,
        revoked_at=row.revoked_at,
    )


#: A database id: a 64-bit signed integer, so a larger one is refused (422), not a 500.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ANY_ROLE = tuple(Role)
ADMIN_ONLY = (Role.ADMIN,)
DEVICE_ROLES = (Role.ADMIN, Role.TECHNICIAN)
AUDIT_ROLES = (Role.ADMIN, Role.AUDITOR)

router = APIRouter(prefix=API, tags=[TAG])


@router.get("/me", response_model=Me)
def me(who: Annotated[Principal, Depends(require(*ANY_ROLE))]) -> Me:
    """The operator this request authenticates as."""
    return Me(user_id=who.user_id, username=who.username, role=who.role, token=who.token)


@router.post(
    "/devices",
    response_model=Device,
    responses={409: {"description": "registered with another key, or revoked"},
               422: {"description": "the id does not derive from the key, or a bad key"}},
)
async def register_device(
    body: DeviceRegistration,
    request: Request,
    who: Annotated[Principal, Depends(require(*DEVICE_ROLES))],
) -> Device:
    """Register a unit's public key (idempotent for the same key; audited)."""
    ctx = context(request)
    actor = registry.Actor(who.username, "registered through the operator API", who)
    try:
        row = await run_in_threadpool(
            registry.register, ctx.db, body.device_id, body.public_key, body.label,
            ctx.now_ms(), actor,
        )
    except RegistryConflict as err:
        raise HTTPException(409, err.message) from err
    except RegistryError as err:
        raise HTTPException(422, err.message) from err
    return _device(row)


@router.get("/devices", response_model=list[Device])
async def list_devices(
    request: Request, who: Annotated[Principal, Depends(require(*DEVICE_ROLES))]
) -> list[Device]:
    """Every registered unit."""
    rows = await run_in_threadpool(registry.devices, context(request).db)
    return [_device(row) for row in rows]


@router.get("/fleet", response_model=FleetAnswer)
async def fleet_view(
    request: Request,
    who: Annotated[Principal, Depends(require(*DEVICE_ROLES))],
    q: Annotated[str, Query(max_length=64, description="part of an id or label")] = "",
    state: StateFilter = StateFilter.ALL,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> FleetAnswer:
    """Every unit: last seen, fix age, battery, upload lag, versions, health."""
    ctx = context(request)
    found = await run_in_threadpool(fleet.query, ctx.db, ctx.now_ms(), q, state, page)
    return FleetAnswer(
        units=[FleetUnit(**asdict(unit)) for unit in found.units],
        total=found.total, page=found.page, pages=found.pages,
    )


@router.get("/audit", response_model=list[AuditEntry])
async def audit_log(
    request: Request,
    who: Annotated[Principal, Depends(require(*AUDIT_ROLES))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """The newest audit entries, newest first."""
    rows = await run_in_threadpool(audit.newest, context(request).db, limit)
    return [
        AuditEntry(
            seq=r.seq, at=r.at, actor=r.actor, role=r.role, action=r.action, target=r.target,
            detail=r.detail, prev_hash=r.prev_hash.hex(), entry_hash=r.entry_hash.hex(),
        )
        for r in rows
    ]


@router.get("/audit/verify", response_model=ChainStatus)
async def audit_verify(
    request: Request, who: Annotated[Principal, Depends(require(*AUDIT_ROLES))]
) -> ChainStatus:
    """Recompute the whole audit chain."""
    report = await run_in_threadpool(audit.verify, context(request).db)
    return ChainStatus(
        ok=report.ok, entries=report.entries, head=report.head.hex(), problem=report.problem
    )


@router.get("/users", response_model=list[Account])
async def list_users(
    request: Request, who: Annotated[Principal, Depends(require(*ADMIN_ONLY))]
) -> list[Account]:
    """Every operator account (`fieldcheck admin user ...` changes them)."""
    rows = await run_in_threadpool(accounts.users, context(request).db)
    return [
        Account(id=r.id, username=r.username, role=Role(r.role), created_at=r.created_at,
                disabled=r.disabled_at is not None, locked_until=r.locked_until,
                totp=r.totp_secret is not None)
        for r in rows
    ]


def token_views(request: Request) -> list[ApiToken]:
    """Every API token with its owner's name (for the JSON route and the admin page)."""
    db = context(request).db
    owners = {row.id: row.username for row in accounts.users(db)}
    return [
        ApiToken(id=r.id, prefix=r.prefix, name=r.name, owner=owners.get(r.user_id, "?"),
                 role=Role(r.role), created_at=r.created_at, last_used_at=r.last_used_at,
                 revoked_at=r.revoked_at)
        for r in tokens.listing(db)
    ]


@router.get("/tokens", response_model=list[ApiToken])
async def list_tokens(
    request: Request, who: Annotated[Principal, Depends(require(*ADMIN_ONLY))]
) -> list[ApiToken]:
    """Every API token (`fieldcheck admin token create` makes one)."""
    return await run_in_threadpool(token_views, request)


@router.post("/tokens/{token_id}/revoke", response_model=ApiToken,
             responses={404: {"description": "no such unrevoked token"}})
async def revoke_token(
    token_id: RowId, request: Request, who: Annotated[Principal, Depends(require(*ADMIN_ONLY))]
) -> ApiToken:
    """Stop a token working, for good (audited)."""
    ctx = context(request)
    try:
        await run_in_threadpool(tokens.revoke, ctx.db, token_id, ctx.now_ms(), who)
    except AccountError as err:
        raise HTTPException(404, err.message) from err
    views = await run_in_threadpool(token_views, request)
    return next(view for view in views if view.id == token_id)
