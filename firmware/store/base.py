"""The record store interface: an append-only, hash-chained log of signed records on the device.

Guarantees every backend gives:

* ``append`` returns only after the signed record is committed to durable storage.
* Sequence numbers start at 0 and never repeat, also across crashes, restarts and pruning.
* Records are deleted only once the server acknowledged them (``acknowledge``) AND either
  their retention passed (``prune``) or storage is low and they are location records that the
  thinning policy does not keep (``check_storage``). An unacknowledged record is never deleted,
  so the server's view of the chain has no gap it was not shown first: what the device drops,
  the server already holds, verified.
* Problems found when opening (failed integrity check, broken chain, missing records) are
  returned by ``start_and_check`` and can be raised as ``event`` records with ``report``.
"""

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldcheck_protocol.record import FixSummary, Kind, Record
from firmware.core.lifecycle import Lifecycle

MAX_MESSAGE = 200


@dataclass(frozen=True)
class Appended:
    """A committed record and its COSE_Sign1 bytes."""

    record: Record
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

    def report(self, problems: list[StoreProblem]) -> list[Appended]:
        """Raise one ``event`` record per problem, so the server learns of it too."""
        return [self.append(Kind.EVENT, p.event_body()) for p in problems]

    @abstractmethod
    def append(self, kind: Kind, body: Mapping[str, Any], fix: FixSummary | None = None,
               gps_time: datetime | None = None) -> Appended:
        """Assign seq and prev_hash, sign, commit durably, and return the committed record."""

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
    def check_storage(self) -> Appended | None:
        """Measure free space; on crossing the low (or recovered) threshold raise the event,
        thinning acknowledged location records when low. Returns the event, if any."""

    @abstractmethod
    def records(self, after: int = -1, limit: int = 100) -> list[StoredRecord]:
        """Retained records with seq > ``after``, oldest first."""

    @abstractmethod
    def status(self) -> StoreStatus:
        """Current counters."""
