"""Alerts pushed to webhook receivers through an outbox.

An alert is written to the outbox in the same transaction as what raised it, so a crash loses
none; a delivery worker POSTs due rows and records each attempt, so a restart resumes where it
stopped. Each body is signed with HMAC-SHA256 under the receiver's secret (header
``X-Fieldcheck-Signature: sha256=<hex>`` over ``<timestamp>.<body>``, the timestamp in
``X-Fieldcheck-Timestamp``) and carries a stable ``id`` (also ``X-Fieldcheck-Delivery``), the same
on every retry, so a receiver can deduplicate. Failed attempts are retried with exponential
backoff (with jitter) up to ``MAX_ATTEMPTS``. Bodies name the kind and the review item, never a
position, a face or a key: the receiver looks at the evidence in the review queue.
"""

import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fieldcheck_server.db.casework import CaseTx, OutboxRow, WebhookRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import CaseNotFound, CaseworkError

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Fieldcheck-Signature"
TIMESTAMP_HEADER = "X-Fieldcheck-Timestamp"
DELIVERY_HEADER = "X-Fieldcheck-Delivery"
MIN_SECRET_BYTES = 16
MAX_ATTEMPTS = 12
FIRST_RETRY_MS = 30_000
MAX_RETRY_MS = 6 * 3600 * 1000


class DeliveryFailed(Exception):
    """A receiver did not take an alert (connection refused, timeout, a non-2xx answer)."""


#: Sends one POST: (url, body, headers) -> None, or raises DeliveryFailed. The HTTP client lives
#: with the caller (the CLI's worker), so the domain stays free of it.
Sender = Callable[[str, bytes, Mapping[str, str]], None]


@dataclass(frozen=True)
class Attempted:
    """What one delivery pass did."""

    delivered: int
    failed: int
    gave_up: int


def event_id(source: str) -> str:
    """The stable id of the alert raised by ``source`` (the review item's source)."""
    return "fc-" + hashlib.sha256(source.encode()).hexdigest()[:32]


def sign(secret: bytes, timestamp_ms: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp_ms``."""
    mac = hmac.new(secret, str(timestamp_ms).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: bytes, timestamp_ms: int, body: bytes, header: str) -> bool:
    """What a receiver checks (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp_ms, body), header)


def backoff_ms(attempts: int, rng: random.Random) -> int:
    """Wait before the next attempt after ``attempts`` failures: doubling, capped, jittered."""
    base = min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** max(0, attempts - 1))
    return int(base * (0.5 + rng.random() / 2))


def add_webhook(db: Database, who: Principal, url: str, secret: bytes,
                now_ms: int) -> WebhookRow:
    """Register a receiver (HTTPS, or HTTP to loopback for tests and local relays); audited
    (the URL, never the secret)."""
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise CaseworkError(f"webhook URL {url!r}: use https:// (http:// only to localhost)")
    if len(secret) < MIN_SECRET_BYTES:
        raise CaseworkError(f"the webhook secret has {len(secret)} bytes; give at least "
                            f"{MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32 > secret`)")
    with db.write() as tx:
        cases = CaseTx(tx)
        webhook_id = cases.insert_webhook(url, secret, now_ms)
        row = next(w for w in cases.webhooks(False) if w.id == webhook_id)
        audit.record(tx, who, "webhook.add", str(webhook_id), now_ms, {"url": url})
    logger.info("added webhook %d to %s", row.id, parts.hostname)
    return row


def enqueue(cases: CaseTx, source: str, payload: Mapping[str, Any], now_ms: int) -> int:
    """Within the caller's transaction: put one alert in every active receiver's outbox."""
    alert_id = event_id(source)
    body = json.dumps({"id": alert_id, **payload}, sort_keys=True).encode()
    return sum(cases.enqueue(w.id, alert_id, body, now_ms) for w in cases.webhooks(True))


def _headers(row: OutboxRow, secret: bytes, now_ms: int) -> dict[str, str]:
    return {"Content-Type": "application/json", DELIVERY_HEADER: row.event_id,
            TIMESTAMP_HEADER: str(now_ms), SIGNATURE_HEADER: sign(secret, now_ms, row.body)}


def deliver_due(db: Database, send: Sender, now_ms: int, rng: random.Random,
                limit: int = 50) -> Attempted:
    """One pass of the worker: POST every due row, record each attempt.

    Rows are read in one short transaction and each result written in another, so no
    transaction stays open across a network call; a crash between the two only repeats a
    delivery, which the stable id makes harmless."""
    with db.read() as tx:
        cases = CaseTx(tx)
        due = cases.due(now_ms, limit)
        secrets = {w.id: w for w in cases.webhooks(True)}
    delivered = failed = gave_up = 0
    for row in due:
        webhook = secrets[row.webhook_id]
        error: str | None = None
        try:
            send(webhook.url, row.body, _headers(row, webhook.secret, now_ms))
        except DeliveryFailed as err:
            error = str(err)[:500] or "delivery failed"
        next_at = now_ms + backoff_ms(row.attempts + 1, rng)
        if error is not None and row.attempts + 1 >= MAX_ATTEMPTS:
            next_at, gave_up = 2 ** 62, gave_up + 1  # parked: `fieldcheck webhook retry`
            logger.error("webhook %d: giving up on %s after %d attempts: %s", webhook.id,
                         row.event_id, row.attempts + 1, error)
        with db.write() as tx:
            CaseTx(tx).attempted(row, now_ms, error, next_at)
        delivered, failed = delivered + (error is None), failed + (error is not None)
    return Attempted(delivered, failed, gave_up)


def disable_webhook(db: Database, who: Principal, webhook_id: int, now_ms: int) -> None:
    """Stop sending to a receiver (what it was sent stays in the outbox); audited."""
    with db.write() as tx:
        if not CaseTx(tx).disable_webhook(webhook_id, now_ms):
            raise CaseNotFound(f"no active webhook {webhook_id}: see `fieldcheck webhook list`")
        audit.record(tx, who, "webhook.disable", str(webhook_id), now_ms)


def retry_parked(db: Database, now_ms: int) -> int:
    """Make every undelivered row due now again (after a receiver is fixed)."""
    with db.write() as tx:
        return CaseTx(tx).reschedule_undelivered(now_ms)
