"""The audit log of every human action, hash-chained: each entry holds the sha256 of the last.

An entry's hash covers its sequence number, time, actor, role, action, target, detail and the
previous entry's hash, as canonical JSON (sorted keys, no spaces, UTF-8). Changing, removing or
reordering an entry breaks the chain at that point, which :func:`verify` finds. The first entry's
previous hash is 32 zero bytes. Removing entries from the end leaves a valid shorter chain: the
head hash :func:`verify` prints is what to write down elsewhere to catch that.
"""

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from fieldcheck_server.db import access
from fieldcheck_server.db.access import AuditRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.retention import RetentionTx
from fieldcheck_server.db.tx import Tx
from fieldcheck_server.domain.roles import Principal

logger = logging.getLogger(__name__)

GENESIS = bytes(32)
_PAGE = 1000


def entry_hash(
    seq: int, at: int, who: tuple[str, int | None, str], what: tuple[str, str, str], prev: bytes
) -> bytes:
    """sha256 of one entry's canonical form; ``who`` = (actor, actor_id, role), ``what`` =
    (action, target, detail JSON)."""
    actor, actor_id, role = who
    action, target, detail = what
    canonical = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "actor_id": actor_id,
        "role": role,
        "action": action,
        "target": target,
        "detail": detail,
        "prev": prev.hex(),
    }
    data = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).digest()


def record(
    tx: Tx,
    who: Principal,
    action: str,
    target: str,
    now_ms: int,
    detail: Mapping[str, object] | None = None,
) -> AuditRow:
    """Append an entry inside the caller's write transaction (so the action and its entry commit
    together). ``action`` is a dotted verb (``device.register``), ``target`` what it acted on."""
    access.lock_audit(tx)
    head = access.audit_head(tx)
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    detail_text = json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"))
    actor_id = who.user_id or None
    digest = entry_hash(
        seq, now_ms, (who.actor, actor_id, who.role.value), (action, target, detail_text), prev
    )
    row = AuditRow(
        seq, now_ms, who.actor, actor_id, who.role.value, action, target, detail_text, prev, digest
    )
    access.insert_audit(tx, row)
    logger.info("audit %d: %s %s %s", seq, who.actor, action, target)
    return row


def append(
    db: Database,
    who: Principal,
    action: str,
    target: str,
    now_ms: int,
    detail: Mapping[str, object] | None = None,
) -> AuditRow:
    """Append an entry in a transaction of its own (for actions that change nothing else, e.g.
    a failed login or opening a review image)."""
    with db.write() as tx:
        return record(tx, who, action, target, now_ms, detail)


def newest(db: Database, limit: int) -> list[AuditRow]:
    """The newest ``limit`` entries, newest first."""
    with db.read() as tx:
        return access.audit_entries(tx, 0, limit, newest_first=True)


def entries(db: Database) -> Iterator[AuditRow]:
    """Every entry, oldest first, read in pages."""
    seq = 1
    while True:
        with db.read() as tx:
            page = access.audit_entries(tx, seq, _PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        seq = page[-1].seq + 1


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: how many entries, the head hash, and the first break."""

    entries: int
    head: bytes
    problem: str | None

    @property
    def ok(self) -> bool:
        """Whether the whole chain verified."""
        return self.problem is None


def verify(db: Database) -> ChainReport:
    """Recompute every entry's hash and check each links to the one before (from retention's
    anchor, the last entry it deleted, when it deleted any)."""
    with db.read() as tx:
        anchor = RetentionTx(tx).audit_anchor()
    start, prev = anchor if anchor is not None else (0, GENESIS)
    count = 0
    for row in entries(db):
        problem = _check(row, start + count + 1, prev)
        if problem is not None:
            return ChainReport(count, prev, problem)
        count, prev = count + 1, row.entry_hash
    return ChainReport(count, prev, None)


def _check(row: AuditRow, expected_seq: int, prev: bytes) -> str | None:
    if row.seq != expected_seq:
        return f"entry {expected_seq} is missing (the next entry is {row.seq})"
    if row.prev_hash != prev:
        return f"entry {row.seq} does not link to entry {row.seq - 1} (it was changed or replaced)"
    who = (row.actor, row.actor_id, row.role)
    digest = entry_hash(row.seq, row.at, who, (row.action, row.target, row.detail), row.prev_hash)
    if digest != row.entry_hash:
        return f"entry {row.seq} was altered after it was written (its hash does not match)"
    return None
