"""The review queue: what a person must look at, and the decision and reason they record.

Items come from :mod:`fieldcheck_server.domain.review_scan` (check-ins that did not match, failed
liveness, unknown verdicts, missed windows, zone breaks, tamper and power events, and the
refused input ingest kept: sequence gaps, forks, bad signatures). Nothing becomes a finding
without a reviewer's decision and reason; a decision is final (a second one is refused, so the
record of who decided what stays as it was).
"""

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fieldcheck_protocol.wire import ErrorCode
from fieldcheck_server.db.casework import CaseTx, ReviewRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.people import Viewer, caseload_filter, visible_person_ids
from fieldcheck_server.errors import CaseConflict, CaseNotFound, CaseworkError, Forbidden

logger = logging.getLogger(__name__)

MIN_REASON = 3
MAX_REASON = 2000
#: Roles that may record decisions (an auditor reads, a technician looks after devices).
DECIDERS = frozenset({"admin", "officer"})


class ReviewKind(StrEnum):
    """Why an item is in the queue."""

    NO_MATCH = "no_match"
    LIVENESS_FAILED = "liveness_failed"
    UNKNOWN = "unknown"
    MISSED_WINDOW = "missed_window"
    ZONE = "zone"
    SEQUENCE_GAP = "sequence_gap"
    FORK = ErrorCode.FORK.value
    BAD_SIGNATURE = ErrorCode.BAD_SIGNATURE.value
    REFUSED_INPUT = "refused_input"
    TAMPER = "tamper"
    POWER = "power"


class Decision(StrEnum):
    """What a reviewer decided."""

    FINDING = "finding"  # a violation: it stands as a finding
    NO_FINDING = "no_finding"  # explained (GPS drift, agreed absence, a fault): no finding


@dataclass(frozen=True)
class Item:
    """A review item with its evidence decoded."""

    row: ReviewRow
    evidence: dict[str, Any]

    @property
    def is_open(self) -> bool:
        """Whether it waits for a decision."""
        return self.row.decided_at is None


def _item(row: ReviewRow) -> Item:
    return Item(row, json.loads(row.evidence))


def queue(db: Database, viewer: Viewer, open_only: bool = True, limit: int = 200) -> list[Item]:
    """The items ``viewer`` may see, oldest first (an officer: only their caseload's)."""
    with db.read() as tx:
        ids = visible_person_ids(tx, viewer)
        rows = CaseTx(tx).reviews(open_only=open_only, person_ids=ids, limit=limit)
    return [_item(row) for row in rows]


def findings(db: Database, viewer: Viewer, limit: int = 500) -> list[Item]:
    """Items a reviewer decided are findings: the only way anything becomes one."""
    return [item for item in queue(db, viewer, open_only=False, limit=limit)
            if item.row.decision == Decision.FINDING.value]


def item(db: Database, viewer: Viewer, review_id: int) -> Item:
    """One item, if ``viewer`` may see it (unknown and hidden look the same)."""
    with db.read() as tx:
        ids = visible_person_ids(tx, viewer)
        row = CaseTx(tx).review(review_id)
    if row is None or (ids is not None and row.person_id not in ids):
        raise CaseNotFound(f"no review item {review_id} you may see: see `fieldcheck review "
                            "list`")
    return _item(row)


def _check_decision(decision: str, reason: str) -> tuple[Decision, str]:
    try:
        chosen = Decision(decision)
    except ValueError:
        raise CaseworkError(f"decision {decision!r}: use finding or no_finding") from None
    reason = reason.strip()
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise CaseworkError(f"a decision needs a reason of {MIN_REASON} to {MAX_REASON} "
                            "characters: say what you checked")
    return chosen, reason


def decide(db: Database, viewer: Viewer, review_id: int, decision: str, reason: str,
           now_ms: int) -> Item:
    """Record a reviewer's decision and reason on an open item they may see."""
    if str(viewer.role) not in DECIDERS:
        raise Forbidden(f"the {viewer.role} role cannot decide review items")
    chosen, reason = _check_decision(decision, reason)
    officer = caseload_filter(viewer)
    with db.write() as tx:
        cases = CaseTx(tx)
        row = cases.review(review_id)
        visible = row is not None and (officer is None or (
            row.person_id is not None and (p := cases.person_by_id(row.person_id)) is not None
            and p.officer == officer))
        if row is None or not visible:
            raise CaseNotFound(f"no review item {review_id} you may see")
        if not cases.decide(review_id, chosen.value, reason, viewer.actor, now_ms):
            raise CaseConflict(f"review item {review_id} was decided already "
                                f"({row.decision} by {row.decided_by}); decisions are final")
        decided = cases.review(review_id)
        audit.record(tx, viewer, "review.decide", str(review_id), now_ms,
                     {"decision": chosen.value, "reason": reason, "kind": row.kind})
    assert decided is not None
    logger.info("review %d decided %s by %s", review_id, chosen.value, viewer.username)
    return _item(decided)
