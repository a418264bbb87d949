"""Verification of the retained part of a device's hash chain, row by row, in one pass.

Rows may be missing below the acknowledged seq (pruned or thinned after the server had them);
any other missing seq is ``records_missing``, and any record that does not hash or link as
written is ``chain_broken``. The stored high-water mark (next seq and the last record's hash)
closes the chain at its end, so a lost tail is found too.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from fieldcheck_protocol.record import RecordError
from fieldcheck_protocol.signature import record_hash, unverified_record, verify_record
from firmware.store.base import StoreProblem

CHAIN_BROKEN = "chain_broken"
RECORDS_MISSING = "records_missing"


@dataclass(frozen=True)
class ChainHead:
    """The persisted high-water mark: the next seq to assign and the hash it must link to."""

    next_seq: int
    last_hash: bytes
    acked_seq: int


@dataclass
class _Tally:
    """One problem per code: first seq, count and the first reason seen."""

    found: dict[str, StoreProblem] = field(default_factory=dict)

    def add(self, code: str, seq: int, count: int, reason: str) -> None:
        old = self.found.get(code)
        if old is None:
            self.found[code] = StoreProblem(code, reason, seq, count)
        else:
            self.found[code] = StoreProblem(code, old.message, old.first_seq, old.count + count)


@dataclass
class ChainVerifier:
    """Feed rows oldest first with :meth:`row`, then call :meth:`finish`."""

    head: ChainHead
    device_id: str
    public_key: bytes
    signatures: bool = True
    _tally: _Tally = field(default_factory=_Tally)
    _last_seq: int = -1
    _last_hash: bytes | None = None

    def row(self, seq: int, stored_hash: bytes, cose: bytes) -> None:
        """Check one stored record against its hash, its content and the previous link."""
        actual = record_hash(cose)
        if actual != stored_hash:
            self._tally.add(CHAIN_BROKEN, seq, 1, f"seq {seq}: bytes do not match stored hash")
        try:
            record = (verify_record(cose, self.public_key) if self.signatures
                      else unverified_record(cose))
        except RecordError as err:
            self._tally.add(CHAIN_BROKEN, seq, 1, f"seq {seq}: record refused ({err.code})")
            self._advance(seq, actual)
            return
        if record.seq != seq or record.device_id != self.device_id:
            self._tally.add(CHAIN_BROKEN, seq, 1, f"seq {seq}: row holds another record")
        self._link(seq, record.prev_hash)
        self._advance(seq, actual)

    def finish(self) -> list[StoreProblem]:
        """Close the chain against the high-water mark; returns every problem found."""
        if self._last_seq >= self.head.next_seq:
            self._tally.add(CHAIN_BROKEN, self._last_seq, 1,
                            f"seq {self._last_seq} is at or above the high-water mark")
        else:
            self._link(self.head.next_seq, self.head.last_hash)
        return list(self._tally.found.values())

    def verify(self, rows: Iterable[tuple[int, bytes, bytes]]) -> list[StoreProblem]:
        """Check all ``rows`` (seq, stored hash, cose), oldest first."""
        for seq, stored_hash, cose in rows:
            self.row(seq, stored_hash, cose)
        return self.finish()

    def _advance(self, seq: int, actual: bytes) -> None:
        self._last_seq, self._last_hash = seq, actual

    def _link(self, seq: int, prev_hash: bytes) -> None:
        if seq <= self._last_seq:
            self._tally.add(CHAIN_BROKEN, seq, 1, f"seq {seq} is out of order")
            return
        if seq == self._last_seq + 1:
            if self._last_hash is not None and prev_hash != self._last_hash:
                self._tally.add(CHAIN_BROKEN, seq, 1,
                                f"seq {seq}: prev_hash does not match seq {seq - 1}")
            return
        # A gap: fine where the server already holds the records (acknowledged), else missing.
        first_missing = max(self._last_seq + 1, self.head.acked_seq + 1)
        if first_missing <= seq - 1:
            self._tally.add(RECORDS_MISSING, first_missing, seq - first_missing,
                            f"unacknowledged seq {first_missing}..{seq - 1} missing")
