"""The record store interface: a durable, append-only, hash-chained log of signed record bytes.

The store keeps what the ledger (``firmware.services.ledger``) built and signed; it never builds,
signs or fills in a field itself. Guarantees every backend gives:

* ``append`` checks, inside its transaction, that the entry continues the chain (its seq is the
  next seq and its prev_hash the last record's hash) and returns only once it is committed to
  durable storage; anything else is a ``StoreError`` and changes nothing.
* Sequence numbers start at 0 and never repeat, also across crashes, restarts and pruning.
* Records are deleted only once the server acknowledged them (``acknowledge``) AND either
  their retention passed (``prune``) or storage is low and they are location records that the
  thinning policy does not keep (``check_storage``). An unacknowledged record is never deleted,
  so the server's view of the chain has no gap it was not shown first: what the device drops,
  the server already holds, verified.
* Problems found when opening (failed integrity check, broken chain, missing records) are
  returned by ``start_and_check``; the ledger raises them as ``event`` records.
"""

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldcheck_protocol.record import Kind
from firmware.core.lifecycle import Lifecycle

MAX_MESSAGE = 200


@dataclass(frozen=True)
class Head:
    """Where the chain stands: the seq the next record gets and the hash it must link to."""

    next_seq: int
    last_hash: bytes


@dataclass(frozen=True)
class Entry:
    """One signed record as the store keeps it: the facts it checks and indexes, and the bytes.

    ``hash`` is sha256 of ``cose`` (the next record's prev_hash); ``device_ms`` is the record's
    device time in epoch milliseconds (retention); ``kind`` decides what thinning may drop.
    """

    seq: int
    prev_hash: bytes
    kind: Kind
    device_ms: int
    hash: bytes
    cose: bytes


@dataclass(frozen=True)
class StoreProblem:
    """Something wrong found in the store; ``code`` is also the event type that reports it."""

    code: str  # "integrity_failed" | "chain_broken" | "records_missing"
    message: str
    first_seq: int | None = None
    count: int = 1

    def event_body(self) -> dict[str, Any]:
        """The body of the ``event`` record that reports this problem."""
        details: dict[str, Any] = {"message": self.message[:MAX_MESSAGE], "count": self.count}
        if self.first_seq is not None:
            details["first_seq"] = self.first_seq
        return {"type": self.code, "details": details}


@dataclass(frozen=True)
class StorageChange:
    """Free space crossed a threshold: the event to record, and the mark its append sets."""

    low: bool  # True: it fell below the low mark; False: it rose above the recovered mark
    free_bytes: int
    threshold_bytes: int
    thinned: int

    def event_body(self) -> dict[str, Any]:
        """The body of the ``storage_low`` or ``storage_recovered`` event."""
        if self.low:
            return {"type": "storage_low", "details": {
                "free_bytes": self.free_bytes, "threshold_bytes": self.threshold_bytes,
                "thinned": self.thinned}}
        return {"type": "storage_recovered", "details": {"free_bytes": self.free_bytes}}


@dataclass(frozen=True)
class StoreStatus:
    """Counters a technician or the sync service looks at."""

    device_id: str
    next_seq: int
    acked_seq: int  # -1 until the server acknowledged anything
    retained: int
    pending: int
    storage_low: bool


@dataclass(frozen=True)
class StoredRecord:
    """One retained row: its seq, COSE bytes and whether the server acknowledged it."""

    seq: int
    cose: bytes
    acknowledged: bool


class RecordStore(Lifecycle):
    """Append-only signed record log (see the module docstring for the guarantees)."""

    device_id: str
    #: Problems found by the checks run at ``start``; empty when all is well.
    problems: list[StoreProblem]

    def start_and_check(self) -> list[StoreProblem]:
        """Open the store, run its integrity and chain checks, and return what they found."""
        self.start()
        return list(self.problems)

    @abstractmethod
    def head(self) -> Head:
        """The next seq and the last record's hash, as committed."""

    @abstractmethod
    def append(self, entry: Entry, *, storage_low: bool | None = None) -> None:
        """Commit ``entry`` durably if it continues the chain, else raise StoreError.

        ``storage_low`` (the append of a storage event) sets the storage-low mark in the same
        transaction, so the mark and the event that reports it are committed together.
        """

    @abstractmethod
    def pending(self, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        """Unacknowledged (seq, cose), oldest first, at most ``limit`` records and about
        ``max_bytes`` bytes (always at least one record when any is pending)."""

    @abstractmethod
    def acknowledge(self, seq: int) -> None:
        """The server committed every seq <= ``seq``; never moves backwards."""

    @abstractmethod
    def prune(self, now: datetime | None = None) -> int:
        """Delete acknowledged records older than the retention; returns how many."""

    @abstractmethod
    def verify_chain(self, signatures: bool = True) -> list[StoreProblem]:
        """Check every retained record, its hash and chain link; returns the problems found."""

    @abstractmethod
    def check_storage(self) -> StorageChange | None:
        """Measure free space, thinning acknowledged location records while low; returns the
        threshold crossing to record (append its event with ``storage_low=change.low``)."""

    @abstractmethod
    def records(self, after: int = -1, limit: int = 100) -> list[StoredRecord]:
        """Retained records with seq > ``after``, oldest first."""

    @abstractmethod
    def status(self) -> StoreStatus:
        """Current counters."""
