"""The FastAPI application: ``POST /v1/records`` (CBOR batches of COSE_Sign1 records) and health."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fieldcheck_server.auth import Refusal
from fieldcheck_server.ingest import CBOR, RECORDS_PATH, BatchResult, IngestService

logger = logging.getLogger(__name__)


class RejectedItem(BaseModel):
    """A record the server refused; ``code`` is stable."""

    seq: int | None
    code: str
    message: str


class IngestAnswer(BaseModel):
    """The acknowledgement: everything up to ``acked_seq`` is committed and chain-verified."""

    acked_seq: int | None
    accepted: int
    duplicates: int
    rejected: list[RejectedItem]


class ErrorAnswer(BaseModel):
    """A request refused as a whole; kept as evidence on the server with an alert."""

    code: str
    message: str


ERROR_CODES = {
    400: "malformed_batch",
    401: "missing_auth, bad_auth_header, unknown_device, stale_timestamp, "
    "bad_request_signature, replayed_nonce",
    403: "device_revoked",
    413: "batch_too_large, too_many_records",
    415: "bad_content_type",
}


def create_app(service: IngestService) -> FastAPI:
    """The app around one ingest service (its database and clock)."""
    app = FastAPI(
        title="fieldcheck ingest",
        version="1",
        description="Signed device records in, acknowledgements out. Requests are signed by "
        "the device key (X-Fieldcheck-* headers); records are COSE_Sign1 (Ed25519).",
    )

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        """Liveness for load balancers; touches no state."""
        return {"status": "ok"}

    @app.post(
        RECORDS_PATH,
        response_model=IngestAnswer,
        responses={
            status: {"model": ErrorAnswer, "description": f"codes: {codes}"}
            for status, codes in ERROR_CODES.items()
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
        try:
            body, size = await _bounded_body(request, service.limits.max_bytes)
        except ClientDisconnect:
            # The unit went away mid-upload (power, radio): nothing was read, nothing stored;
            # it resends the same batch later. Not an error worth a traceback.
            logger.info("client %s disconnected while sending a batch", source)
            return JSONResponse({"code": "client_disconnected", "message": "incomplete body"},
                                status_code=400)
        try:
            result = await run_in_threadpool(service.handle, request.headers, body, size, source)
        except Refusal as refusal:
            return JSONResponse(
                {"code": refusal.code, "message": refusal.message}, status_code=refusal.status
            )
        return JSONResponse(_answer(result).model_dump())

    return app


def _answer(result: BatchResult) -> IngestAnswer:
    return IngestAnswer(
        acked_seq=result.acked_seq,
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[RejectedItem(seq=r.seq, code=r.code, message=r.message) for r in result.rejected],
    )


async def _bounded_body(request: Request, limit: int) -> tuple[bytes, int]:
    """Read at most ``limit + 1`` bytes; returns (bytes read, declared or observed size)."""
    declared = request.headers.get("content-length", "")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    # A declared length beyond the limit is refused even if the client stops sending early.
    return b"".join(chunks), max(size, int(declared) if declared.isdigit() else 0)
