"""Retention's statements: the oldest prefix of each device's records and of the audit log, and
the anchors (seq, hash of the last deleted item) that keep what remains checkable.

Anchors live in the ``meta`` table (``retention.audit`` and ``retention.records.DEVICE_ID``,
value ``SEQ:HASH_HEX``), so retention needs no table of its own.
"""

from sqlalchemy import delete, func, insert, select

from fieldcheck_server.db.tables import audit_log, devices, meta, records
from fieldcheck_server.db.tx import Tx

AUDIT_ANCHOR = "retention.audit"
RECORDS_ANCHOR = "retention.records."


class RetentionTx:
    """Retention statements in the transaction of ``tx``."""

    def __init__(self, tx: Tx) -> None:
        self._c = tx.connection

    def _anchor(self, key: str) -> tuple[int, bytes] | None:
        value = self._c.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        if value is None:
            return None
        seq, digest = str(value).split(":", 1)
        return int(seq), bytes.fromhex(digest)

    def _set_anchor(self, key: str, seq: int, digest: bytes) -> None:
        self._c.execute(delete(meta).where(meta.c.key == key))
        self._c.execute(insert(meta).values(key=key, value=f"{seq}:{digest.hex()}"))

    def audit_anchor(self) -> tuple[int, bytes] | None:
        """(seq, entry_hash) of the last audit entry retention deleted, or None."""
        return self._anchor(AUDIT_ANCHOR)

    def record_anchor(self, device_id: str) -> tuple[int, bytes] | None:
        """(seq, record_hash) of the device's last record retention deleted, or None."""
        return self._anchor(RECORDS_ANCHOR + device_id)

    def device_ids(self) -> list[str]:
        """Every registered device."""
        return [str(r[0]) for r in self._c.execute(select(devices.c.device_id)
                                                   .order_by(devices.c.device_id))]

    def expirable_records(self, device_id: str, cutoff_ms: int) -> int | None:
        """The last seq of the device's oldest run of records older than ``cutoff_ms``, never
        its head (ingest chains onto it); None: nothing to delete."""
        r = records.c
        mine = r.device_id == device_id
        head = self._c.execute(select(func.max(r.seq)).where(mine)).scalar()
        first_kept = self._c.execute(
            select(func.min(r.seq)).where(mine, r.device_time >= cutoff_ms)).scalar()
        if head is None:
            return None
        last = int(head) - 1 if first_kept is None else min(int(first_kept), int(head)) - 1
        oldest = self._c.execute(select(func.min(r.seq)).where(mine)).scalar()
        return last if oldest is not None and last >= int(oldest) else None

    def delete_records(self, device_id: str, last_seq: int) -> int:
        """Delete the device's records up to ``last_seq``, anchoring the chain at it."""
        r = records.c
        digest = self._c.execute(select(r.record_hash).where(
            r.device_id == device_id, r.seq == last_seq)).scalar()
        assert digest is not None
        gone = self._c.execute(delete(records).where(r.device_id == device_id,
                                                     r.seq <= last_seq)).rowcount
        self._set_anchor(RECORDS_ANCHOR + device_id, last_seq, bytes(digest))
        return int(gone)

    def expirable_audit(self, cutoff_ms: int) -> int | None:
        """The last seq of the audit log's oldest run of entries older than ``cutoff_ms``, never
        the newest entry (the next entry links to it)."""
        a = audit_log.c
        first_kept = self._c.execute(select(func.min(a.seq)).where(a.at >= cutoff_ms)).scalar()
        head = self._c.execute(select(func.max(a.seq))).scalar()
        oldest = self._c.execute(select(func.min(a.seq))).scalar()
        if head is None or oldest is None:
            return None
        last = int(head) - 1 if first_kept is None else min(int(first_kept), int(head)) - 1
        return last if last >= int(oldest) else None

    def delete_audit(self, last_seq: int) -> int:
        """Delete audit entries up to ``last_seq``, anchoring the chain at it."""
        a = audit_log.c
        digest = self._c.execute(select(a.entry_hash).where(a.seq == last_seq)).scalar()
        assert digest is not None
        gone = self._c.execute(delete(audit_log).where(a.seq <= last_seq)).rowcount
        self._set_anchor(AUDIT_ANCHOR, last_seq, bytes(digest))
        return int(gone)

    def count_records(self, device_id: str, last_seq: int) -> int:
        """How many of the device's records are at or below ``last_seq``."""
        r = records.c
        value = self._c.execute(select(func.count()).select_from(records).where(
            r.device_id == device_id, r.seq <= last_seq)).scalar()
        return int(value or 0)

    def count_audit(self, last_seq: int) -> int:
        """How many audit entries are at or below ``last_seq``."""
        value = self._c.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.seq <= last_seq)).scalar()
        return int(value or 0)
