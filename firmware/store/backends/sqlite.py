"""SQLite record store: WAL with synchronous=FULL, an append-only table and a seq high-water mark.

It stores signed bytes the ledger built; it never builds, signs or fills in a record field.
Durability: every append is one ``BEGIN IMMEDIATE`` .. ``COMMIT`` transaction in WAL mode with
``synchronous=FULL``, so the WAL is fsynced before ``append`` returns. The next seq and the last
record's hash live in ``meta``; the append checks the entry against them and updates them in the
same transaction as the insert, which is why a seq is never reused or skipped, even after every
row has been pruned or when two writers race.

Triggers make the invariants hold for any writer: rows are never updated, only acknowledged rows
can be deleted, and the high-water marks never move backwards. At open the store runs
``PRAGMA quick_check`` (``integrity_check = "full"`` runs ``PRAGMA integrity_check``) and walks
the hash chain (see ``firmware.store.chain``); problems are reported, not raised. SQLite
errors are classified by their result code name (``sqlite3.Error.sqlite_errorname``), never by
the words of the message.
"""

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.record import ZERO_HASH, Kind, to_ms
from fieldcheck_protocol.signature import record_hash
from firmware.core.settings import SettingsError, setting
from firmware.errors import StoreError
from firmware.store.backends.sqlite_errors import store_error
from firmware.store.base import (
    Entry,
    Head,
    RecordStore,
    StorageChange,
    StoredRecord,
    StoreProblem,
    StoreStatus,
)
from firmware.store.chain import ChainHead, ChainVerifier
from firmware.store.identity import DeviceIdentity
from firmware.store.thinning import thin_plan

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    device_ms INTEGER NOT NULL,
    hash BLOB NOT NULL,
    cose BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS records_append_only BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_delete_acknowledged_only BEFORE DELETE ON records
WHEN OLD.seq > (SELECT value FROM meta WHERE key = 'acked_seq')
BEGIN SELECT RAISE(ABORT, 'only acknowledged records may be deleted'); END;
CREATE TRIGGER IF NOT EXISTS meta_marks_move_forward BEFORE UPDATE ON meta
WHEN NEW.key IN ('next_seq', 'acked_seq', 'thinned_through') AND NEW.value < OLD.value
BEGIN SELECT RAISE(ABORT, 'high-water marks never move backwards'); END;
"""
INITIAL_META: tuple[tuple[str, object], ...] = (
    ("schema", 1), ("next_seq", 0), ("last_hash", ZERO_HASH), ("acked_seq", -1),
    ("storage_low", 0), ("thinned_through", -1),
)


@dataclass(frozen=True)
class Config:
    """Settings of the SQLite record store (the ``[store]`` section)."""

    filename: str = setting("records.sqlite3", "database file name inside device.data_dir")
    retention_days: float = setting(
        30.0, "keep records this many days after the server acknowledged them"
    )
    storage_low_bytes: int = setting(
        64 * MIB, "free bytes on the data filesystem below which storage is low: a storage_low "
        "event is raised and acknowledged location records are thinned",
    )
    storage_recovered_bytes: int = setting(
        96 * MIB, "free bytes above which storage counts as recovered again (hysteresis)"
    )
    thin_keep_every: int = setting(4, "when thinning, keep every Nth acknowledged location record")
    integrity_check: Literal["quick", "full"] = setting(
        "quick", "check at open: quick (PRAGMA quick_check) or full (PRAGMA integrity_check)"
    )
    verify_signatures_at_open: bool = setting(
        False, "also verify every retained signature at open (slow on a Pi Zero with a backlog)"
    )
    busy_timeout_s: float = setting(5.0, "wait this long for another process's write lock")

    def __post_init__(self) -> None:
        if self.storage_recovered_bytes < self.storage_low_bytes:
            raise SettingsError("[store] storage_recovered_bytes must be >= storage_low_bytes")
        if self.thin_keep_every < 2:
            raise SettingsError("[store] thin_keep_every must be at least 2")
        if self.retention_days < 0:
            raise SettingsError("[store] retention_days must not be negative")


def free_bytes_of(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the filesystem holding ``path``."""
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


class SqliteRecordStore(RecordStore):
    """The record store on one SQLite file; one connection, serialised by a lock."""

    def __init__(self, config: Config, path: Path, device_id: str, public_key: bytes,
                 clock: Clock, free_bytes: Callable[[Path], int] = free_bytes_of) -> None:
        self.config = config
        self.path = path
        self.device_id = device_id
        self.problems = []
        self._public_key = public_key  # to verify the chain at open; the store never signs
        self._clock = clock
        self._free_bytes = free_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = self._connect()
        try:
            problems = self._integrity(conn)
            conn.executescript(SCHEMA)
            conn.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                             INITIAL_META + (("device_id", self.device_id),))
            owner = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
        except sqlite3.Error as err:
            conn.close()
            raise store_error(err, self.path) from err
        if owner != self.device_id:
            conn.close()
            raise StoreError(
                f"{self.path} holds records of device {owner}, but the key is {self.device_id}",
                "restore that device's key, or sync and move the old store aside",
            )
        self._conn = conn
        problems += self.verify_chain(signatures=self.config.verify_signatures_at_open)
        for problem in problems:
            logger.warning("record store problem %s: %s", problem.code, problem.message)
        self.problems = problems

    def _stop(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self.config.busy_timeout_s)
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect on a new file only
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as err:
            raise store_error(err, self.path) from err
        if str(mode).lower() != "wal":
            conn.close()
            raise StoreError(f"{self.path}: SQLite refused WAL mode ({mode})",
                             "put device.data_dir on a local filesystem (not NFS or FAT)")
        return conn

    def _integrity(self, conn: sqlite3.Connection) -> list[StoreProblem]:
        pragma = "quick_check" if self.config.integrity_check == "quick" else "integrity_check"
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
        if rows == ["ok"]:
            return []
        return [StoreProblem("integrity_failed", f"{pragma}: {'; '.join(rows[:3])}", None,
                             len(rows))]

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; committed on success, rolled back otherwise."""
        with self._lock:
            if self._conn is None:
                raise StoreError("record store is not started", "call start() first")
            conn = self._conn
            try:
                conn.execute(f"BEGIN {mode}")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback(conn)
                raise store_error(err, self.path) from err
            except BaseException:
                self._rollback(conn)
                raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """Roll back if a transaction is open; a failing rollback must not hide the cause."""
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as err:  # SQLite rolls back itself when the connection closes
            logger.error("rollback on %s failed: %s", self.path, err)

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> Any:
        return conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: object) -> None:
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    @staticmethod
    def _head(conn: sqlite3.Connection) -> Head:
        return Head(next_seq=int(SqliteRecordStore._meta(conn, "next_seq")),
                    last_hash=bytes(SqliteRecordStore._meta(conn, "last_hash")))

    def head(self) -> Head:
        """The next seq and the last record's hash, as committed."""
        with self._tx("DEFERRED") as conn:
            return self._head(conn)

    def append(self, entry: Entry, *, storage_low: bool | None = None) -> None:
        """Commit ``entry`` if it continues the chain (see ``RecordStore.append``)."""
        if record_hash(entry.cose) != entry.hash:
            raise StoreError(f"record seq {entry.seq} not stored: its hash is not of its bytes",
                             "this is a firmware bug: report it with this message")
        with self._tx() as conn:
            head = self._head(conn)
            if entry.seq != head.next_seq or entry.prev_hash != head.last_hash:
                raise self._not_next(entry, head)
            conn.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?)",
                         (entry.seq, entry.kind.value, entry.device_ms, entry.hash, entry.cose))
            self._set_meta(conn, "next_seq", entry.seq + 1)
            self._set_meta(conn, "last_hash", entry.hash)
            if storage_low is not None:
                self._set_meta(conn, "storage_low", int(storage_low))

    def _not_next(self, entry: Entry, head: Head) -> StoreError:
        why = (f"the next seq is {head.next_seq}" if entry.seq != head.next_seq
               else "its prev_hash is not the last record's hash")
        return StoreError(f"record seq {entry.seq} not stored in {self.path}: {why}",
                          "another process writes this store: stop it (one process, the "
                          "daemon, owns the store), then retry")

    def pending(self, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        """Unacknowledged records, oldest first, bounded by count and (after the first) bytes."""
        with self._tx("DEFERRED") as conn:
            rows = conn.execute(
                "SELECT seq, cose FROM records WHERE seq > "
                "(SELECT value FROM meta WHERE key = 'acked_seq') ORDER BY seq LIMIT ?",
                (limit,),
            )
            batch: list[tuple[int, bytes]] = []
            total = 0
            for seq, cose in rows:
                if batch and total + len(cose) > max_bytes:
                    break
                batch.append((int(seq), bytes(cose)))
                total += len(cose)
        return batch

    def acknowledge(self, seq: int) -> None:
        """Record that the server holds every seq <= ``seq``; refuses seqs never written."""
        with self._tx() as conn:
            next_seq = int(self._meta(conn, "next_seq"))
            if seq >= next_seq:
                raise StoreError(
                    f"server acknowledged seq {seq}, but this unit has written only "
                    f"up to {next_seq - 1}",
                    "the server confuses this unit with another: check its registration",
                )
            if seq > int(self._meta(conn, "acked_seq")):
                self._set_meta(conn, "acked_seq", seq)

    def prune(self, now: datetime | None = None) -> int:
        """Delete acknowledged records whose device time is older than the retention."""
        moment = self._clock.now() if now is None else now
        cutoff = to_ms(moment - timedelta(days=self.config.retention_days))
        with self._tx() as conn:
            deleted = conn.execute(
                "DELETE FROM records WHERE seq <= (SELECT value FROM meta WHERE key = "
                "'acked_seq') AND device_ms < ?", (cutoff,),
            ).rowcount
        if deleted:
            self._reclaim()
            logger.info("pruned %s acknowledged records past retention", deleted)
        return int(deleted)

    def check_storage(self) -> StorageChange | None:
        """The storage_low / storage_recovered crossing, once per crossing; thin while low.

        The mark flips only when the ledger appends the crossing's event (``storage_low=``),
        so a failed event write is retried at the next check.
        """
        free = self._free_bytes(self.path.parent)
        low_bytes = self.config.storage_low_bytes
        with self._tx() as conn:
            was_low = bool(self._meta(conn, "storage_low"))
            thinned = self._thin(conn) if was_low or free < low_bytes else 0
        if thinned:
            self._reclaim()
            logger.warning("storage low: thinned %s acknowledged location records", thinned)
        if not was_low and free < low_bytes:
            return StorageChange(low=True, free_bytes=free, threshold_bytes=low_bytes,
                                 thinned=thinned)
        recovered = self.config.storage_recovered_bytes
        if was_low and free >= recovered:
            return StorageChange(low=False, free_bytes=free, threshold_bytes=recovered,
                                 thinned=0)
        return None

    def _thin(self, conn: sqlite3.Connection) -> int:
        """Delete acknowledged location records not yet considered, keeping every Nth."""
        acked = int(self._meta(conn, "acked_seq"))
        since = int(self._meta(conn, "thinned_through"))
        if acked <= since:
            return 0
        seqs = [int(r[0]) for r in conn.execute(
            "SELECT seq FROM records WHERE kind = ? AND seq > ? AND seq <= ? ORDER BY seq",
            (Kind.LOCATION.value, since, acked),
        )]
        drop = thin_plan(seqs, self.config.thin_keep_every)
        conn.executemany("DELETE FROM records WHERE seq = ?", [(s,) for s in drop])
        self._set_meta(conn, "thinned_through", acked)
        return len(drop)

    def _reclaim(self) -> None:
        # Hand freed pages back to the filesystem (effective on files created with auto_vacuum).
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA incremental_vacuum").fetchall()
                except sqlite3.Error as err:
                    raise store_error(err, self.path) from err

    def verify_chain(self, signatures: bool = True) -> list[StoreProblem]:
        """Walk every retained record in one read snapshot; returns the problems found."""
        with self._tx("DEFERRED") as conn:
            head = ChainHead(
                next_seq=int(self._meta(conn, "next_seq")),
                last_hash=bytes(self._meta(conn, "last_hash")),
                acked_seq=int(self._meta(conn, "acked_seq")),
            )
            verifier = ChainVerifier(head, self.device_id, self._public_key, signatures)
            rows = conn.execute("SELECT seq, hash, cose FROM records ORDER BY seq")
            return verifier.verify((int(s), bytes(h), bytes(c)) for s, h, c in rows)

    def records(self, after: int = -1, limit: int = 100) -> list[StoredRecord]:
        """Retained records with seq > ``after``, oldest first."""
        with self._tx("DEFERRED") as conn:
            acked = int(self._meta(conn, "acked_seq"))
            rows = conn.execute(
                "SELECT seq, cose FROM records WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [StoredRecord(int(s), bytes(c), int(s) <= acked) for s, c in rows]

    def status(self) -> StoreStatus:
        """Counters for the CLI and the sync service."""
        with self._tx("DEFERRED") as conn:
            acked = int(self._meta(conn, "acked_seq"))
            retained, pending = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE seq > ?) FROM records", (acked,)
            ).fetchone()
            return StoreStatus(
                device_id=self.device_id, next_seq=int(self._meta(conn, "next_seq")),
                acked_seq=acked, retained=int(retained), pending=int(pending),
                storage_low=bool(self._meta(conn, "storage_low")),
            )


def create(config: Config, *, data_dir: Path, identity: DeviceIdentity, clock: Clock,
           free_bytes: Callable[[Path], int] = free_bytes_of) -> SqliteRecordStore:
    """Build the store for ``data_dir`` (not started: call ``start_and_check()``).

    Only the identity's public half is used, to check the chain at open.
    """
    return SqliteRecordStore(config, data_dir / config.filename, identity.device_id,
                             identity.public_key, clock, free_bytes)
