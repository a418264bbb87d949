"""Retention: delete records, audit entries and review images past their age, audited.

What is deleted is always the oldest run (a prefix) of each chain, never its newest item, and
the last deleted item's seq and hash are kept as an anchor (``db.retention``):

- a device's records: its newest record is kept, so ingest's head is unchanged and a unit's next
  record chains on as before; a re-sent record at or below the anchor is a duplicate, not a fork;
  ``export.listing`` checks the remaining chain from the anchor;
- the audit log: ``audit.verify`` starts at the anchor, so the chain still checks.

The run itself is an audit entry (``retention.run``: the cut-offs and the counts).
"""

import logging
from dataclasses import dataclass

from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.retention import RetentionTx
from fieldcheck_server.domain import audit, review_images
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import CaseworkError

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Policy:
    """Ages in days past which items go (None: keep for ever); review images keep their own
    per-frame expiry and are deleted when ``images`` is set."""

    records_days: int | None = None
    audit_days: int | None = None
    images: bool = True

    def check(self) -> None:
        """Refuse an age under one day."""
        for name, days in (("--records-days", self.records_days),
                           ("--audit-days", self.audit_days)):
            if days is not None and days < 1:
                raise CaseworkError(f"{name} must be at least 1 (days)")


@dataclass(frozen=True)
class Outcome:
    """What a run deleted (or, dry, would delete)."""

    records: dict[str, int]
    audit_entries: int
    images: int
    dry_run: bool

    @property
    def record_count(self) -> int:
        """Records over all devices."""
        return sum(self.records.values())


def _cutoff(now_ms: int, days: int | None) -> int | None:
    return None if days is None else now_ms - days * DAY_MS


def run(db: Database, who: Principal, policy: Policy, now_ms: int,
        dry_run: bool = False) -> Outcome:
    """Apply ``policy`` as of ``now_ms`` in one transaction; audited unless ``dry_run``."""
    policy.check()
    records_cut, audit_cut = _cutoff(now_ms, policy.records_days), _cutoff(now_ms,
                                                                         policy.audit_days)
    with db.write() as tx:
        store = RetentionTx(tx)
        removed = _expire_records(store, records_cut, dry_run) if records_cut is not None else {}
        entries = 0
        last_entry = store.expirable_audit(audit_cut) if audit_cut is not None else None
        if last_entry is not None:
            entries = store.count_audit(last_entry) if dry_run else store.delete_audit(last_entry)
        if not dry_run:
            audit.record(tx, who, "retention.run", "retention", now_ms,
                         {"records_before": records_cut, "audit_before": audit_cut,
                          "records": sum(removed.values()), "devices": len(removed),
                          "audit_entries": entries, "audit_anchor_seq": last_entry})
    images = review_images.expire(db, who, now_ms) if policy.images and not dry_run else 0
    logger.info("retention%s: %d record(s), %d audit entr(ies), %d image(s)",
                " (dry run)" if dry_run else "", sum(removed.values()), entries, images)
    return Outcome(removed, entries, images, dry_run)


def _expire_records(store: RetentionTx, cutoff_ms: int, dry_run: bool) -> dict[str, int]:
    removed: dict[str, int] = {}
    for device_id in store.device_ids():
        last = store.expirable_records(device_id, cutoff_ms)
        if last is not None:
            removed[device_id] = (store.count_records(device_id, last) if dry_run
                                  else store.delete_records(device_id, last))
    return removed
