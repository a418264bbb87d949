"""Batch ingest: verify each record, check sequence and chain, store idempotently, keep evidence.

Stored records of a device are always the contiguous, chain-verified run 0..head, so the
acknowledgement is simply the head. Anything else is quarantined with its raw bytes and an alert.
"""

import io
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import cbor2

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.record import ZERO_HASH, Record, RecordError, RecordValues, restored, to_ms
from fieldcheck_protocol.signature import peek, record_hash, verified_values
from fieldcheck_protocol.wire import CBOR, RECORDS_PATH, ErrorCode
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import DeviceRow, Tx
from fieldcheck_server.domain.auth import (
    SignedRequest,
    check_device,
    check_signature,
    claimed_device,
    consume_nonce,
    parse_headers,
)
from fieldcheck_server.domain.commands import deliver
from fieldcheck_server.domain.evidence import count_refusal, keep_evidence
from fieldcheck_server.domain.registry import retire_if_decommissioned
from fieldcheck_server.domain.verify_pool import Spread, VerifyPool, shared
from fieldcheck_server.errors import Refused

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Bounds on one request."""

    max_records: int = 1000
    max_bytes: int = 4 * 1024 * 1024
    #: How much of a refused body is kept as evidence (the size is always kept).
    evidence_bytes: int = 256 * 1024


@dataclass(frozen=True)
class Rejected:
    """One record refused, with a stable code."""

    seq: int | None
    code: ErrorCode
    message: str


@dataclass(frozen=True)
class Checked:
    """One batch item after signature verification (outside the write lock)."""

    cose: bytes
    record: Record | None
    rejected: Rejected | None


@dataclass
class BatchResult:
    """What the server answers: the contiguous head and what happened to each item."""

    acked_seq: int | None
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    #: The records this batch stored (new ones only, not duplicates).
    stored: list[Record] = field(default_factory=list)
    #: Signed commands waiting for the unit, handed out with this answer.
    commands: tuple[bytes, ...] = ()


def parse_batch(body: bytes, limits: Limits, device_id: str | None = None) -> list[bytes]:
    """The CBOR array of byte strings and nothing after it; refuses anything else as a whole.

    ``device_id``: the device whose signature the body carries (its refusals are evidence)."""
    stream = io.BytesIO(body)
    try:
        items = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError) as err:
        raise Refused(
            ErrorCode.MALFORMED_BATCH, f"body is not valid CBOR: {err}", device_id, True
        ) from None
    if stream.tell() != len(body):
        # cbor2.loads would ignore them: bytes no signature check ever looks at.
        raise Refused(
            ErrorCode.MALFORMED_BATCH,
            f"{len(body) - stream.tell()} byte(s) after the CBOR array; send exactly one array",
            device_id,
            True,
        )
    if not isinstance(items, list) or not all(isinstance(item, bytes) for item in items):
        raise Refused(
            ErrorCode.MALFORMED_BATCH, "body must be a CBOR array of byte strings", device_id, True
        )
    if len(items) > limits.max_records:
        raise Refused(
            ErrorCode.TOO_MANY_RECORDS,
            f"{len(items)} records; at most {limits.max_records} a batch",
            device_id,
            True,
        )
    return items


def verify_items(items: list[bytes], public_key: bytes) -> list[Checked]:
    """Verify every item's signature with the device key (CPU work, done before locking)."""
    return pair(items, verify_part(items, public_key))


def verify_part(items: list[bytes], public_key: bytes) -> list[RecordValues | Rejected]:
    """Each item's verified record (as its plain values) or why it is refused, in item order.

    Module level and pure, so the verify pool's worker processes run it on parts of a batch;
    what they send back is only this (the server holds the items themselves), and plain values
    cross the process boundary several times cheaper than records."""
    outcomes: list[RecordValues | Rejected] = []
    for cose in items:
        try:
            outcomes.append(verified_values(cose, public_key))
        except RecordError as err:
            outcomes.append(Rejected(_seq_of(cose), ErrorCode(err.code), err.message))
    return outcomes


def pair(items: list[bytes], outcomes: list[RecordValues | Rejected]) -> list[Checked]:
    """Items and their :func:`verify_part` outcomes as :class:`Checked` items."""
    return [
        Checked(cose, None, outcome) if isinstance(outcome, Rejected)
        else Checked(cose, restored(*outcome), None)
        for cose, outcome in zip(items, outcomes, strict=True)
    ]


def _seq_of(cose: bytes) -> int | None:
    try:
        return peek(cose)[1]
    except RecordError:
        return None


def commit_batch(
    tx: Tx, device_id: str, checked: list[Checked], now: int, source: str
) -> BatchResult:
    """Apply verified items in sequence order; returns the new contiguous head.

    Sorted first (stably, so rivals for one seq keep the order sent): a unit sends oldest first,
    but a batch reordered on the way, ``[h+2, h+1]``, is the same records and no gap."""
    head = tx.head(device_id)
    head_seq, head_hash = head if head is not None else (-1, ZERO_HASH)
    result = BatchResult(acked_seq=None)
    # Accepted records are written together at the end (one round trip); until then this batch's
    # own records are looked up here.
    accepted: dict[int, tuple[Record, bytes]] = {}
    hashes: dict[int, bytes] = {}  # of the accepted records: each hashed once
    for item in sorted(checked, key=_sort_key):
        rejection = item.rejected or _place(tx, device_id, item, head_seq, head_hash, accepted)
        if rejection is None and item.record is not None and item.record.seq <= head_seq:
            result.duplicates += 1
        elif rejection is None and item.record is not None:
            accepted[item.record.seq] = (item.record, item.cose)
            head_seq, head_hash = item.record.seq, record_hash(item.cose)
            hashes[head_seq] = head_hash
        if rejection is not None:
            result.rejected.append(rejection)
            keep_evidence(
                tx,
                device_id,
                rejection.seq,
                rejection.code,
                rejection.message,
                item.cose,
                len(item.cose),
                now,
                source,
            )
    tx.insert_records(
        [_row(record, cose, hashes[seq], now, source) for seq, (record, cose) in accepted.items()]
    )
    result.accepted = len(accepted)
    result.stored = [record for record, _cose in accepted.values()]
    result.acked_seq = head_seq if head_seq >= 0 else None
    return result


def _sort_key(item: Checked) -> int:
    if item.record is not None:
        return item.record.seq
    # Refused items go first (their place changes nothing but the order of the evidence).
    return -1


def _place(
    tx: Tx,
    device_id: str,
    item: Checked,
    head_seq: int,
    head_hash: bytes,
    accepted: Mapping[int, tuple[Record, bytes]],
) -> Rejected | None:
    """None if the record is a duplicate or the next link; otherwise why it does not fit."""
    record = item.record
    assert record is not None
    seq = record.seq
    if seq <= head_seq:
        stored = accepted[seq][1] if seq in accepted else tx.record_cose(device_id, seq)
        if stored == item.cose or stored is None:
            # None: stored once and deleted by retention (stored seqs are contiguous up to the
            # head, which retention keeps), so a duplicate, not a fork.
            return None
        return Rejected(seq, ErrorCode.FORK, f"seq {seq} is already stored with different bytes")
    if seq > head_seq + 1:
        return Rejected(
            seq,
            ErrorCode.GAP,
            f"seq {seq} arrived but the chain ends at {head_seq}; "
            "kept pending as evidence, not acknowledged",
        )
    if record.prev_hash != head_hash:
        return Rejected(
            seq,
            ErrorCode.CHAIN_MISMATCH,
            f"prev_hash of seq {seq} is not the hash of stored seq {head_seq}",
        )
    return None


def _row(record: Record, cose: bytes, digest: bytes, now: int, source: str) -> dict[str, Any]:
    """The stored row of one accepted record (``digest``: its record_hash)."""
    return {
        "device_id": record.device_id,
        "seq": record.seq,
        "cose": cose,
        "record_hash": digest,
        "prev_hash": record.prev_hash,
        "kind": record.kind.value,
        "device_time": to_ms(record.device_time),
        "received_at": now,
        "source": source,
    }


@dataclass(frozen=True)
class Admitted:
    """A request whose headers passed: a known, unrevoked device, a fresh timestamp, a size within
    the limit. Its signature (over the body) is checked once the body is read."""

    request: SignedRequest
    device: DeviceRow
    now_s: int


class IngestService:
    """The stateless request handler: all state is in the database.

    Two steps, so the HTTP layer reads no body for a request its headers already refuse:
    :meth:`admit` (headers only) then :meth:`ingest` (the body, read with a cap)."""

    def __init__(self, db: Database, clock: Clock, limits: Limits | None = None,
                 verifier: VerifyPool | None = None) -> None:
        self.db = db
        self.clock = clock
        self.limits = limits or Limits()
        #: Spreads a big batch's signature checks over the cores (default: the process's pool).
        self.verifier = verifier or shared()

    def start_workers(self) -> None:
        """Start the verify workers now rather than with the first big batch."""
        self.verifier.start(verify_part)

    def handle(
        self, headers: Mapping[str, str], body: bytes, body_size: int, source: str
    ) -> BatchResult:
        """Both steps for a body already in memory (bench, tests and in-process callers)."""
        admitted = self.admit(headers, body_size, source)
        return self.ingest(admitted, body, body_size, source)

    def admit(self, headers: Mapping[str, str], declared_size: int, source: str) -> Admitted:
        """Check what the headers alone can tell; raises ``Refused`` (after counting it)."""
        headers = {key.lower(): value for key, value in headers.items()}
        with self._refusals(source, claimed_device(headers), b"", declared_size):
            self._check_size(declared_size)
            if headers.get("content-type", "").split(";")[0].strip() != CBOR:
                raise Refused(ErrorCode.BAD_CONTENT_TYPE, f"send the batch as {CBOR}")
            request = parse_headers(headers)
            now_s = int(self.clock.now().timestamp())
            with self.db.read() as tx:
                device = check_device(request, tx.device(request.device_id), now_s)
            return Admitted(request, device, now_s)

    def ingest(self, admitted: Admitted, body: bytes, body_size: int, source: str) -> BatchResult:
        """Verify the signature over ``body``, then the records, and commit; raises ``Refused``."""
        device_id = admitted.device.device_id
        with self._refusals(source, device_id, body, body_size):
            self._check_size(body_size)
            check_signature(admitted.request, admitted.device, "POST", RECORDS_PATH, body)
            items = parse_batch(body, self.limits, device_id)
            spread = self.verifier.spread(verify_part, items, admitted.device.public_key)
            try:
                return self._commit(admitted, spread, source)
            finally:
                spread.cancel()  # a request refused in the transaction: nothing more to check

    def _commit(self, admitted: Admitted, spread: Spread[bytes, RecordValues | Rejected],
                source: str) -> BatchResult:
        """The write transaction: the device locked and checked again, the nonce used, the
        verified records applied. With parallel writers (PostgreSQL) the caller locks and checks
        while the workers verify, and verifies its share inside the transaction; with one
        write lock for all (SQLite) everything is verified before the lock is taken."""
        device_id = admitted.device.device_id
        early = None if self.db.parallel_writers else spread.finished(pair)
        with self.db.write() as tx:
            tx.lock_device(device_id)
            current = tx.device(device_id)
            if current is None or current.revoked_at is not None:
                raise Refused(
                    ErrorCode.DEVICE_REVOKED, f"device {device_id} was revoked", device_id
                )
            check_device(admitted.request, current, admitted.now_s)  # retired meanwhile
            consume_nonce(tx, admitted.request, admitted.now_s)
            checked = early if early is not None else spread.finished(pair)
            now = self._now_ms()
            result = commit_batch(tx, device_id, checked, now, source)
            result.commands = deliver(tx, device_id, result.stored, now)
            retire_if_decommissioned(tx, device_id, result.stored, now)
            return result

    def _check_size(self, size: int) -> None:
        if size > self.limits.max_bytes:
            raise Refused(
                ErrorCode.BATCH_TOO_LARGE,
                f"body of {size} bytes; at most {self.limits.max_bytes} a batch",
            )

    @contextmanager
    def _refusals(self, source: str, claimed: str | None, body: bytes, size: int) -> Iterator[None]:
        """Keep (proven device) or count (anyone else) a refusal raised inside the block."""
        try:
            yield
        except Refused as refusal:
            now = self._now_ms()
            with self.db.write() as tx:
                if refusal.proven:
                    evidence = body[: self.limits.evidence_bytes]
                    keep_evidence(
                        tx,
                        refusal.device_id,
                        None,
                        refusal.code,
                        refusal.message,
                        evidence,
                        size,
                        now,
                        source,
                    )
                else:
                    count_refusal(
                        tx,
                        source,
                        refusal.code,
                        refusal.message,
                        refusal.device_id or claimed,
                        body,
                        size,
                        now,
                    )
            raise

    def _now_ms(self) -> int:
        return to_ms(self.clock.now())
