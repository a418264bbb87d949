"""The operator's casework API under ``/api/v1``: people, timelines, the review queue, and the
commands channel's check-in and message calls. HTTP only; who may see what is the domain's."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.command import CommandKind
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.api.casework_json import item_json, person_json, timeline_json
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import commands, people, review
from fieldcheck_server.domain.expected import ExpectedSettings
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
READERS = ("admin", "officer", "auditor")
DECIDERS = ("admin", "officer")


@dataclass(frozen=True)
class Casework:
    """What the casework routes work with."""

    db: Database
    clock: Clock
    command_key: Ed25519PrivateKey | None
    expected: ExpectedSettings = ExpectedSettings()

    def now_ms(self) -> int:
        """The server's time, epoch ms."""
        return to_ms(self.clock.now())


class DecisionIn(BaseModel):
    """A reviewer's decision."""

    decision: Literal["finding", "no_finding"]
    reason: str = Field(min_length=1, max_length=review.MAX_REASON)


class CommandIn(BaseModel):
    """A call on the person's current device: check in now, or show a message."""

    kind: Literal["checkin", "message"]
    text: str | None = Field(default=None, max_length=500)


def status_of(err: CaseworkError | Forbidden | RegistryError) -> int:
    """The HTTP status of a domain refusal."""
    if isinstance(err, Forbidden):
        return 403
    if isinstance(err, CaseNotFound):
        return 404
    if isinstance(err, CaseConflict):
        return 409
    return 422


def refused(err: CaseworkError | Forbidden | RegistryError) -> JSONResponse:
    """The JSON answer to a refused casework request."""
    return JSONResponse({"error": err.message}, status_code=status_of(err))


def queue_call(work: Casework, viewer: Any, case_number: str, call: CommandIn) -> str:
    """Sign and queue a check-in or message for the person's device; returns the command id."""
    if work.command_key is None:
        raise CaseConflict("this server has no command key: run `fieldcheck server "
                           "command-key` and restart")
    if str(viewer.role) not in DECIDERS:
        raise Forbidden(f"the {viewer.role} role cannot send commands")
    device_id = people.current_device(work.db, viewer, case_number)
    kind = CommandKind.CHECKIN_NOW if call.kind == "checkin" else CommandKind.MESSAGE
    if kind is CommandKind.MESSAGE and not (call.text or "").strip():
        raise CaseworkError("a message needs text")
    args = {"text": (call.text or "").strip()} if kind is CommandKind.MESSAGE else {}
    row = commands.queue(work.db, work.command_key, device_id, kind, args, work.now_ms(),
                         viewer.username)
    return row.id


def casework_router(work: Casework, require: Callable[..., Any]) -> APIRouter:
    """The JSON routes; ``require(*roles)`` is the accounts layer's dependency for a caller."""
    router = APIRouter(prefix=API, tags=["casework"])
    Reader = Annotated[Any, Depends(require(*READERS))]
    Decider = Annotated[Any, Depends(require(*DECIDERS))]

    async def guarded(func: Callable[[], Any]) -> Any:
        try:
            return await run_in_threadpool(func)
        except (CaseworkError, Forbidden, RegistryError) as err:
            return refused(err)

    @router.get("/persons")
    async def list_persons(viewer: Reader) -> Any:
        """The persons the caller may see (an officer: their caseload)."""
        return await guarded(lambda: [person_json(p) for p in people.people(work.db, viewer)])

    @router.get("/persons/{case_number}/timeline")
    async def person_timeline(case_number: str, viewer: Reader) -> Any:
        """Check-ins, locations and events of the person's devices, with expected windows."""
        return await guarded(lambda: timeline_json(timeline(
            work.db, viewer, case_number, work.clock.now(), work.expected)))

    @router.post("/persons/{case_number}/commands")
    async def person_command(case_number: str, call: CommandIn, viewer: Decider) -> Any:
        """Queue a check-in request or a message for the person's current device."""
        return await guarded(lambda: {"command_id": queue_call(work, viewer, case_number, call)})

    @router.get("/reviews")
    async def list_reviews(viewer: Reader, include_decided: bool = False) -> Any:
        """The review queue the caller may see, oldest first."""
        return await guarded(lambda: [item_json(i) for i in review.queue(
            work.db, viewer, open_only=not include_decided)])

    @router.get("/reviews/{review_id}")
    async def one_review(review_id: int, viewer: Reader) -> Any:
        """One review item with its evidence."""
        return await guarded(lambda: item_json(review.item(work.db, viewer, review_id)))

    @router.post("/reviews/{review_id}/decision")
    async def decide(review_id: int, body: DecisionIn, viewer: Decider) -> Any:
        """Record a decision and its reason (final)."""
        return await guarded(lambda: item_json(review.decide(
            work.db, viewer, review_id, body.decision, body.reason, work.now_ms())))

    return router

