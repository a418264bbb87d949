"""The FastAPI application: ``POST /v1/records`` (CBOR batches of COSE_Sign1 records) and health.

HTTP only: the contract (paths, answers, codes) is ``fieldcheck_protocol.wire``; the work is the
domain's ``IngestService``; this module turns its answers and ``Refused`` errors into responses.
"""

import asyncio
import logging
from collections import defaultdict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fieldcheck_protocol.wire import (
    CBOR,
    HEALTH_PATH,
    RECORDS_PATH,
    STATUS,
    ErrorCode,
    IngestAnswer,
    RefusalAnswer,
    RejectedItem,
)
from fieldcheck_server.api import shell
from fieldcheck_server.api.casework import CaseworkSettings
from fieldcheck_server.api.security import OperatorContext
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.ingest import BatchResult, IngestService
from fieldcheck_server.errors import Refused

logger = logging.getLogger(__name__)

#: A unit on a poor link still sends a chunk within this; a client holding a connection open
#: with a trickle of body is dropped after it.
BODY_TIMEOUT_S = 30.0


def _codes_by_status() -> dict[int, list[str]]:
    codes: dict[int, list[str]] = defaultdict(list)
    for code, status in STATUS.items():
        codes[status].append(code.value)
    return codes


def refusal_response(refusal: Refused) -> JSONResponse:
    """The HTTP answer to a request refused as a whole."""
    body = RefusalAnswer(refusal.code.value, refusal.message).to_json()
    return JSONResponse(body, status_code=STATUS[refusal.code])


def create_app(
    service: IngestService,
    body_timeout_s: float = BODY_TIMEOUT_S,
    access: AccessSettings | None = None,
    casework: CaseworkSettings | None = None,
) -> FastAPI:
    """The app around one ingest service (its database and clock).

    ``body_timeout_s``: the longest wait for the next chunk of a request body; ``access``:
    password hashing, lock-out and session lifetimes of the operator side."""
    app = FastAPI(
        title="fieldcheck ingest",
        version="1",
        description="Signed device records in, acknowledgements out. Requests are signed by "
        "the device key (X-Fieldcheck-* headers); records are COSE_Sign1 (Ed25519). "
        "The operator API (/api/v1/) takes a session cookie or Authorization: Bearer TOKEN.",
        # The stock docs pages load their scripts from a CDN; the server may have no internet.
        docs_url=None,
        redoc_url=None,
    )
    shell.install(app, OperatorContext(service.db, service.clock, access or AccessSettings()))
    (casework or CaseworkSettings()).install(app)

    @app.get(HEALTH_PATH)
    def health() -> dict[str, str]:
        """Liveness for load balancers; touches no state."""
        return {"status": "ok"}

    @app.post(
        RECORDS_PATH,
        response_model=IngestAnswer,
        responses={
            status: {"model": RefusalAnswer, "description": f"codes: {', '.join(codes)}"}
            for status, codes in _codes_by_status().items()
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {CBOR: {"schema": {"type": "string", "format": "binary"}}},
                "description": "CBOR array of COSE_Sign1 byte strings, oldest first",
            }
        },
    )
    async def post_records(request: Request) -> JSONResponse:
        """Verify, chain-check and commit a batch; answer the highest contiguous sequence."""
        source = request.client.host if request.client else "unknown"
        declared = _declared_length(request)
        try:
            # Headers first: a request they refuse (no auth, unknown unit, stale time, declared
            # size over the limit) is answered before a byte of its body is read.
            admitted = await run_in_threadpool(service.admit, request.headers, declared, source)
        except Refused as refusal:
            return refusal_response(refusal)
        try:
            body, size = await _bounded_body(request, service.limits.max_bytes, body_timeout_s)
        except ClientDisconnect:
            # The unit went away mid-upload (power, radio): nothing was read, nothing stored;
            # it resends the same batch later. Not an error worth a traceback.
            logger.info("client %s disconnected while sending a batch", source)
            return refusal_response(Refused(ErrorCode.CLIENT_DISCONNECTED, "incomplete body"))
        except TimeoutError:
            logger.info("client %s sent its body too slowly; dropped", source)
            return refusal_response(Refused(ErrorCode.CLIENT_DISCONNECTED, "body too slow"))
        try:
            result = await run_in_threadpool(service.ingest, admitted, body, size, source)
        except Refused as refusal:
            return refusal_response(refusal)
        return JSONResponse(answer_of(result).to_json())

    return app


def answer_of(result: BatchResult) -> IngestAnswer:
    """The wire answer for a committed batch."""
    return IngestAnswer(
        acked_seq=result.acked_seq,
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=tuple(RejectedItem(r.seq, r.code.value, r.message) for r in result.rejected),
        commands=result.commands,
    )


def _declared_length(request: Request) -> int:
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else 0


async def _bounded_body(request: Request, limit: int, timeout_s: float) -> tuple[bytes, int]:
    """Read at most ``limit + 1`` bytes, each chunk within ``timeout_s``; returns (bytes read,
    declared or observed size). ``TimeoutError`` when the client stalls."""
    chunks: list[bytes] = []
    size = 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout_s)
        except StopAsyncIteration:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    # A declared length beyond the limit is refused even if the client stops sending early.
    return b"".join(chunks), max(size, _declared_length(request))
