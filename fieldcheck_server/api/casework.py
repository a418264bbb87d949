"""The operator's casework API under ``/api/v1``: people, timelines, the review queue, and the
commands channel's check-in and message calls. HTTP only; who may see what is the domain's
(an officer's caseload is enforced in its queries), which role may call a route is here."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fieldcheck_protocol.command import CommandKind
from fieldcheck_server.api.casework_json import item_json, person_json, timeline_json
from fieldcheck_server.api.security import OperatorContext, context, require
from fieldcheck_server.domain import audit, commands, people, person_export, review
from fieldcheck_server.domain.expected import ExpectedSettings
from fieldcheck_server.domain.roles import Principal, Role
from fieldcheck_server.domain.timeline import timeline
from fieldcheck_server.errors import (
    CaseConflict,
    CaseNotFound,
    CaseworkError,
    Forbidden,
    RegistryError,
)

logger = logging.getLogger(__name__)

API = "/api/v1"
READERS = (Role.ADMIN, Role.OFFICER, Role.AUDITOR)
DECIDERS = (Role.ADMIN, Role.OFFICER)
EXPECTED = ExpectedSettings()

router = APIRouter(prefix=API, tags=["casework"])
Reader = Annotated[Principal, Depends(require(*READERS))]
Decider = Annotated[Principal, Depends(require(*DECIDERS))]
#: Ids the database can hold (a bigger number is a 422, not an overflow in the driver).
MAX_ID = 2**62
ReviewId = Annotated[int, Path(ge=1, le=MAX_ID)]
CaseNumber = Annotated[str, Path(min_length=1, max_length=people.MAX_TEXT)]


@dataclass(frozen=True)
class CaseworkSettings:
    """What `server run` gives the casework routes: the key that signs the timeline's commands
    (None: the buttons say how to make one) and the map's tile server (empty: no tiles; the
    track and markers still draw). A tile URL is a Leaflet template, e.g.
    ``https://tiles.example.org/{z}/{x}/{y}.png``."""

    command_key: Ed25519PrivateKey | None = None
    tile_url: str = ""
    tile_attribution: str = ""
    #: The review desk's X25519 private key (raw 32 bytes): without it no review image opens.
    review_key: bytes | None = None
    #: The server's export key: signs the head of each device's slice of a person export.
    export_key: Ed25519PrivateKey | None = None

    def install(self, app: FastAPI) -> None:
        """Keep the settings where the routes look for them."""
        app.state.command_key = self.command_key
        app.state.review_key = self.review_key
        app.state.export_key = self.export_key
        app.state.tile_url = self.tile_url
        app.state.tile_attribution = self.tile_attribution


class DecisionIn(BaseModel):
    """A reviewer's decision (final once recorded)."""

    decision: Literal["finding", "no_finding"]
    reason: str = Field(min_length=1, max_length=review.MAX_REASON)


class CommandIn(BaseModel):
    """A call on the person's current device: check in now, or show a message."""

    kind: Literal["checkin", "message"]
    text: str | None = Field(default=None, max_length=500)


def status_of(err: Exception) -> int:
    """The HTTP status of a domain refusal."""
    if isinstance(err, Forbidden):
        return 403
    if isinstance(err, CaseNotFound):
        return 404
    if isinstance(err, CaseConflict):
        return 409
    return 422


def command_key_of(request: Request) -> Ed25519PrivateKey | None:
    """The server's command key, when `server run` loaded one."""
    key: Ed25519PrivateKey | None = getattr(request.app.state, "command_key", None)
    return key


def queue_call(ctx: OperatorContext, key: Ed25519PrivateKey | None, who: Principal,
               case_number: str, call: CommandIn) -> str:
    """Sign and queue a check-in or message for the person's device; audited; returns the
    command id."""
    device_id = people.current_device(ctx.db, who, case_number)
    if key is None:
        raise CaseConflict("this server has no command key loaded: run `fieldcheck server "
                           "command-key`, then restart `fieldcheck server run`")
    kind = CommandKind.CHECKIN_NOW if call.kind == "checkin" else CommandKind.MESSAGE
    text = (call.text or "").strip()
    if kind is CommandKind.MESSAGE and not text:
        raise CaseworkError("a message needs text")
    args = {"text": text} if kind is CommandKind.MESSAGE else {}
    row = commands.queue(ctx.db, key, device_id, kind, args, ctx.now_ms(), who.actor)
    audit.append(ctx.db, who, f"command.{kind.value}", case_number, ctx.now_ms(),
                 {"device": device_id, "command": row.id})
    return row.id


async def answer(func: Callable[[], Any]) -> Any:
    """Run domain work off the event loop; its refusals become JSON 4xx answers."""
    try:
        return await run_in_threadpool(func)
    except (CaseworkError, Forbidden, RegistryError) as err:
        return JSONResponse({"detail": err.message}, status_code=status_of(err))


@router.get("/persons")
async def list_persons(request: Request, who: Reader) -> Any:
    """The persons the caller may see (an officer: their caseload)."""
    db = context(request).db
    return await answer(lambda: [person_json(p) for p in people.people(db, who)])


@router.get("/persons/{case_number}/timeline")
async def person_timeline(request: Request, case_number: CaseNumber, who: Reader) -> Any:
    """Check-ins, locations and events of the person's devices, with the expected windows."""
    ctx = context(request)
    return await answer(lambda: timeline_json(
        timeline(ctx.db, who, case_number, ctx.clock.now(), EXPECTED)))


#: The media type of each person export format.
EXPORT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                "geojson": "application/geo+json", "cose": "application/cbor"}
ExportFormat = Annotated[Literal["json", "csv", "geojson", "cose"], Query(alias="format")]


@router.get("/persons/{case_number}/export")
async def export_person(request: Request, case_number: CaseNumber, who: Decider,
                        since: datetime, until: datetime,
                        fmt: ExportFormat = "json") -> Any:
    """Every record of the devices the person wore in ``[since, until)``, only while they wore
    them, with their status, raw signed bytes and each device's key (officer or admin; audited).
    A time without a zone is UTC."""
    ctx = context(request)
    key: Ed25519PrivateKey | None = getattr(request.app.state, "export_key", None)
    start, end = (t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in (since, until))
    result = await answer(lambda: person_export.person_export(
        ctx.db, who, case_number, start, end, fmt, key, ctx.now_ms()))
    if isinstance(result, JSONResponse):
        return result
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in case_number)
    filename = f"{safe}-export.{fmt}"
    return Response(result, media_type=EXPORT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/persons/{case_number}/commands")
async def person_command(request: Request, case_number: CaseNumber, call: CommandIn,
                         who: Decider) -> Any:
    """Queue a check-in request or a message for the person's current device."""
    ctx, key = context(request), command_key_of(request)
    return await answer(lambda: {"command_id": queue_call(ctx, key, who, case_number, call)})


@router.get("/reviews")
async def list_reviews(request: Request, who: Reader, include_decided: bool = False) -> Any:
    """The review queue the caller may see, oldest first."""
    db = context(request).db
    return await answer(lambda: [item_json(i) for i in review.queue(
        db, who, open_only=not include_decided)])


@router.get("/reviews/{review_id}")
async def one_review(request: Request, review_id: ReviewId, who: Reader) -> Any:
    """One review item with its evidence."""
    db = context(request).db
    return await answer(lambda: item_json(review.item(db, who, review_id)))


@router.post("/reviews/{review_id}/decision")
async def decide(request: Request, review_id: ReviewId, body: DecisionIn,
                 who: Decider) -> Any:
    """Record a decision and its reason (final)."""
    ctx = context(request)
    return await answer(lambda: item_json(review.decide(
        ctx.db, who, review_id, body.decision, body.reason, ctx.now_ms())))
