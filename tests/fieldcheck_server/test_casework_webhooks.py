"""Webhook alerts: HMAC-signed, a stable id on every retry, backoff, and an outbox that
outlives the process (a second Database on the same URL delivers what the first queued)."""

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.db.casework import CaseTx
from fieldcheck_server.db.engine import Database, open_database
from fieldcheck_server.domain import people, webhooks
from fieldcheck_server.domain.review_scan import scan
from fieldcheck_server.domain.roles import SYSTEM
from fieldcheck_server.errors import CaseworkError
from fieldcheck_server.webhook_post import post
from tests.fieldcheck_server.casekit import Chain
from tests.firmware.sync.devicesim import SimDevice

SECRET = b"s" * 32
DAY = datetime(2026, 11, 24, tzinfo=UTC)


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on loopback that refuses the first ``fail`` deliveries with 503."""

    def __init__(self, fail: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail = fail
        self.seen: list[tuple[dict[str, str], bytes, int]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 503 if len(self.server.seen) < self.server.fail else 200
        self.server.seen.append((dict(self.headers), body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_signed_alert_retried_with_the_same_id_after_a_restart(
        db: Database, db_url: str, device: SimDevice, client: TestClient, clock: ManualClock,
        receiver: Receiver) -> None:
    webhooks.add_webhook(db, SYSTEM, receiver.url, SECRET, 0)
    people.add_person(db, SYSTEM, "C-1", "Ana", [], "alice", 0)
    people.assign(db, SYSTEM, "C-1", device.device_id, to_ms(DAY), "issued")
    chain = Chain(device)
    chain.event(DAY + timedelta(hours=2), "tamper", strap="open")
    chain.upload(client, clock)
    now = to_ms(DAY + timedelta(hours=3))
    assert scan(db, now) == 1
    rng = random.Random(1)
    assert webhooks.deliver_due(db, post, now, rng) == webhooks.Attempted(0, 1, 0)
    assert webhooks.deliver_due(db, post, now + 1000, rng).failed == 0  # backing off
    restarted = open_database(db_url)  # a new process: only the database is shared
    try:
        later = now + webhooks.FIRST_RETRY_MS
        assert webhooks.deliver_due(restarted, post, later, rng).delivered == 1
        assert webhooks.deliver_due(restarted, post, later + 10**9, rng).delivered == 0
    finally:
        restarted.dispose()
    (first, body1, code1), (second, body2, code2) = receiver.seen
    assert (code1, code2) == (503, 200)
    assert first["X-Fieldcheck-Delivery"] == second["X-Fieldcheck-Delivery"]
    assert body1 == body2
    payload = json.loads(body2)
    assert payload["id"] == first["X-Fieldcheck-Delivery"]
    assert (payload["kind"], payload["case_number"]) == ("tamper", "C-1")
    assert "record" not in payload and "evidence" not in payload  # no position leaves
    stamp = int(second["X-Fieldcheck-Timestamp"])
    assert webhooks.verify(SECRET, stamp, body2, second["X-Fieldcheck-Signature"])
    assert not webhooks.verify(b"x" * 32, stamp, body2, second["X-Fieldcheck-Signature"])


def test_a_dead_receiver_is_given_up_on_then_retried_on_request(db: Database) -> None:
    webhooks.add_webhook(db, SYSTEM, "http://127.0.0.1:9/nothing-listens", SECRET, 0)
    with db.write() as tx:
        assert webhooks.enqueue(CaseTx(tx), "record:x:1", {"kind": "tamper"}, 0) == 1
        assert webhooks.enqueue(CaseTx(tx), "record:x:1", {"kind": "tamper"}, 0) == 0
    rng, now = random.Random(2), 0
    for _ in range(webhooks.MAX_ATTEMPTS):
        now += webhooks.MAX_RETRY_MS
        webhooks.deliver_due(db, post, now, rng)
    with db.read() as tx:
        [row] = CaseTx(tx).outbox(pending_only=True, limit=10)
    assert row.attempts == webhooks.MAX_ATTEMPTS and row.next_at > now + 10**12
    assert webhooks.retry_parked(db, now) == 1


def test_backoff_doubles_up_to_a_cap() -> None:
    rng = random.Random(3)
    waits = [webhooks.backoff_ms(n, rng) for n in range(1, 20)]
    assert webhooks.FIRST_RETRY_MS / 2 <= waits[0] <= webhooks.FIRST_RETRY_MS
    assert max(waits) <= webhooks.MAX_RETRY_MS
    assert waits[5] > waits[0] * 8


@pytest.mark.parametrize(("url", "secret", "message"), [
    ("http://example.org/hook", SECRET, "use https://"),
    ("https://example.org/hook", b"short", "at least 16"),
])
def test_bad_receivers_are_refused(db: Database, url: str, secret: bytes, message: str) -> None:
    with pytest.raises(CaseworkError, match=message):
        webhooks.add_webhook(db, SYSTEM, url, secret, 0)
