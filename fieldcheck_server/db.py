"""The server's data layer: every SQL statement lives here, written once for SQLite and PostgreSQL.

Statements use ``:name`` parameters; ``Dialect.convert`` turns them into the driver's style in one
place (sqlite3 takes ``:name`` as is, psycopg 3 wants ``%(name)s``). Column types that differ
(``BLOB``/``BYTEA``, the identity column) are filled into the DDL from the dialect. Everything else
is plain SQL both engines run: ``ON CONFLICT ... DO NOTHING``, ``RETURNING``, no engine functions.
Times are integer milliseconds since the Unix epoch (UTC).

Concurrency. Ingest nodes share nothing but the database, so two of them may handle requests of
one device at the same moment. A write transaction decides against the stored head, so writers
of one device must be serialised:

* SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at once (every writer waits).
* PostgreSQL: ``READ COMMITTED`` plus ``SELECT ... FOR UPDATE`` on the device's row in
  ``devices``, taken first in the transaction. Writers of one device queue on that row lock;
  writers of different devices run in parallel. Under READ COMMITTED every later statement sees
  what the previous lock holder committed, so the head read after the lock is current and the
  chain check holds. This was chosen over SERIALIZABLE with retry because a batch costs
  signature verification and hundreds of inserts: a conflict would throw that work away and
  retry, and two nodes draining one device's backlog would conflict on nearly every batch; a
  row lock makes the loser wait instead. (REPEATABLE READ would be wrong here: its snapshot is
  taken before the lock is granted, so it would read a stale head.) The unique key on
  (device_id, seq) stays as the last line of defence: no code path can store a second record
  for one sequence number.
"""

import functools
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Dialect:
    """What differs between engines, and nothing else."""

    name: str
    blob: str
    identity: str
    begin_write: str
    lock_device: str | None
    #: Serialises schema creation across processes where ``begin_write`` does not already.
    lock_schema: str | None

    def convert(self, sql: str) -> str:
        """Rewrite ``:name`` parameters into this driver's parameter style."""
        if self.name == "sqlite":
            return sql
        return _to_pyformat(sql)


@functools.cache
def _to_pyformat(sql: str) -> str:
    # Cached: the statements are a fixed set, and ingest runs some of them per record.
    return _PARAM.sub(r"%(\1)s", sql)


SQLITE = Dialect(
    name="sqlite",
    blob="BLOB",
    identity="INTEGER PRIMARY KEY",
    # IMMEDIATE takes the write lock at once, serialising ingest across workers and processes.
    begin_write="BEGIN IMMEDIATE",
    lock_device=None,
    lock_schema=None,
)
POSTGRES = Dialect(
    name="postgres",
    blob="BYTEA",
    identity="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    # Stated, not left to the server default: the device lock relies on READ COMMITTED (above).
    begin_write="BEGIN ISOLATION LEVEL READ COMMITTED",
    # Row lock per device: concurrent ingest nodes serialise per device, not globally.
    lock_device="SELECT device_id FROM devices WHERE device_id = :device_id FOR UPDATE",
    # Two nodes starting at once would race in CREATE TABLE IF NOT EXISTS (a catalog conflict).
    lock_schema="SELECT pg_advisory_xact_lock(4242001)",
)

DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS devices (
        device_id TEXT PRIMARY KEY, public_key {blob} NOT NULL, label TEXT NOT NULL,
        registered_at BIGINT NOT NULL, revoked_at BIGINT)""",
    """CREATE TABLE IF NOT EXISTS records (
        device_id TEXT NOT NULL REFERENCES devices (device_id), seq BIGINT NOT NULL,
        cose {blob} NOT NULL, record_hash {blob} NOT NULL, prev_hash {blob} NOT NULL,
        kind TEXT NOT NULL, device_time BIGINT NOT NULL, received_at BIGINT NOT NULL,
        source TEXT NOT NULL, PRIMARY KEY (device_id, seq))""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        id {identity}, device_id TEXT, seq BIGINT, code TEXT NOT NULL, message TEXT NOT NULL,
        raw {blob} NOT NULL, raw_size BIGINT NOT NULL, digest {blob} NOT NULL,
        received_at BIGINT NOT NULL, source TEXT NOT NULL, UNIQUE (code, digest))""",
    "CREATE INDEX IF NOT EXISTS quarantine_device ON quarantine (device_id, seq)",
    """CREATE TABLE IF NOT EXISTS alerts (
        id {identity}, created_at BIGINT NOT NULL, device_id TEXT, code TEXT NOT NULL,
        message TEXT NOT NULL, quarantine_id BIGINT)""",
    """CREATE TABLE IF NOT EXISTS nonces (
        device_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at BIGINT NOT NULL,
        PRIMARY KEY (device_id, nonce))""",
    "CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at)",
)

SQL = {
    "meta_get": "SELECT value FROM meta WHERE key = :key",
    "meta_put": "INSERT INTO meta (key, value) VALUES (:key, :value) ON CONFLICT (key) DO NOTHING",
    "device_get": "SELECT device_id, public_key, label, registered_at, revoked_at "
    "FROM devices WHERE device_id = :device_id",
    "device_list": "SELECT device_id, public_key, label, registered_at, revoked_at "
    "FROM devices ORDER BY device_id",
    "device_insert": "INSERT INTO devices (device_id, public_key, label, registered_at) "
    "VALUES (:device_id, :public_key, :label, :now) ON CONFLICT (device_id) DO NOTHING",
    "device_revoke": "UPDATE devices SET revoked_at = :now "
    "WHERE device_id = :device_id AND revoked_at IS NULL",
    "head": "SELECT seq, record_hash FROM records WHERE device_id = :device_id "
    "ORDER BY seq DESC LIMIT 1",
    "record_get": "SELECT cose FROM records WHERE device_id = :device_id AND seq = :seq",
    "record_insert": "INSERT INTO records (device_id, seq, cose, record_hash, prev_hash, kind, "
    "device_time, received_at, source) VALUES (:device_id, :seq, :cose, :record_hash, "
    ":prev_hash, :kind, :device_time, :now, :source)",
    "record_list": "SELECT seq, cose, received_at FROM records WHERE device_id = :device_id "
    "AND seq >= :from_seq ORDER BY seq LIMIT :limit",
    "quarantine_insert": "INSERT INTO quarantine (device_id, seq, code, message, raw, raw_size, "
    "digest, received_at, source) VALUES (:device_id, :seq, :code, :message, :raw, :raw_size, "
    ":digest, :now, :source) ON CONFLICT (code, digest) DO NOTHING RETURNING id",
    "quarantine_list": "SELECT id, seq, code, message, raw, raw_size, received_at, source "
    "FROM quarantine WHERE device_id = :device_id ORDER BY id",
    "alert_insert": "INSERT INTO alerts (created_at, device_id, code, message, quarantine_id) "
    "VALUES (:now, :device_id, :code, :message, :quarantine_id)",
    "alert_list": "SELECT id, created_at, device_id, code, message, quarantine_id FROM alerts "
    "ORDER BY id DESC LIMIT :limit",
    "nonce_insert": "INSERT INTO nonces (device_id, nonce, expires_at) "
    "VALUES (:device_id, :nonce, :expires_at) ON CONFLICT (device_id, nonce) DO NOTHING",
    # Per device, under the device lock: a global purge would make writers of different devices
    # wait on (and possibly deadlock over) each other's expired rows.
    "nonce_purge": "DELETE FROM nonces WHERE device_id = :device_id AND expires_at < :now",
}


@dataclass(frozen=True)
class DeviceRow:
    """A registered device."""

    device_id: str
    public_key: bytes
    label: str
    registered_at: int
    revoked_at: int | None


@dataclass(frozen=True)
class QuarantineRow:
    """One piece of refused input, kept as evidence."""

    id: int
    seq: int | None
    code: str
    message: str
    raw: bytes
    raw_size: int
    received_at: int
    source: str


@dataclass(frozen=True)
class AlertRow:
    """Something a person has to look at."""

    id: int
    created_at: int
    device_id: str | None
    code: str
    message: str
    quarantine_id: int | None


class Tx:
    """One open transaction: typed operations, each one named statement."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._connection = connection
        self._dialect = dialect

    def _run(self, name: str, params: Mapping[str, Any]) -> Any:
        cursor = self._connection.cursor()
        cursor.execute(self._dialect.convert(SQL[name]), dict(params))
        return cursor

    def execute_ddl(self, statement: str) -> None:
        """Run one schema statement (no parameters)."""
        self._connection.cursor().execute(statement)

    def put_meta(self, key: str, value: str) -> None:
        """Set a meta value once (first writer wins)."""
        self._run("meta_put", {"key": key, "value": value})

    def lock_device(self, device_id: str) -> None:
        """Serialise writers of one device (a no-op where the transaction already locks)."""
        if self._dialect.lock_device is not None:
            cursor = self._connection.cursor()
            cursor.execute(
                self._dialect.convert(self._dialect.lock_device), {"device_id": device_id}
            )

    def device(self, device_id: str) -> DeviceRow | None:
        """The registered device, or None."""
        row = self._run("device_get", {"device_id": device_id}).fetchone()
        return _device(row) if row else None

    def devices(self) -> list[DeviceRow]:
        """Every registered device, by id."""
        return [_device(row) for row in self._run("device_list", {}).fetchall()]

    def insert_device(self, device_id: str, public_key: bytes, label: str, now: int) -> bool:
        """Register a device; False when the id is already registered."""
        params = {"device_id": device_id, "public_key": public_key, "label": label, "now": now}
        return bool(self._run("device_insert", params).rowcount == 1)

    def revoke_device(self, device_id: str, now: int) -> bool:
        """Mark a device revoked; False when unknown or already revoked."""
        return bool(self._run("device_revoke", {"device_id": device_id, "now": now}).rowcount == 1)

    def head(self, device_id: str) -> tuple[int, bytes] | None:
        """(seq, record_hash) of the newest stored record; stored records are contiguous."""
        row = self._run("head", {"device_id": device_id}).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def record_cose(self, device_id: str, seq: int) -> bytes | None:
        """The stored COSE bytes of one record, or None."""
        row = self._run("record_get", {"device_id": device_id, "seq": seq}).fetchone()
        return bytes(row[0]) if row else None

    def insert_records(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store verified, chained records in one go (the primary key refuses a second copy).

        One ``executemany``: psycopg pipelines it into a single round trip to the server."""
        if rows:
            cursor = self._connection.cursor()
            cursor.executemany(self._dialect.convert(SQL["record_insert"]), [dict(r) for r in rows])

    def records(self, device_id: str, from_seq: int, limit: int) -> list[tuple[int, bytes, int]]:
        """(seq, cose, received_at) of stored records from ``from_seq``, in order."""
        params = {"device_id": device_id, "from_seq": from_seq, "limit": limit}
        rows = self._run("record_list", params).fetchall()
        return [(int(r[0]), bytes(r[1]), int(r[2])) for r in rows]

    def quarantine(self, **values: Any) -> int | None:
        """Keep refused input as evidence; None when the same evidence is already kept."""
        row = self._run("quarantine_insert", values).fetchone()
        return int(row[0]) if row else None

    def quarantined(self, device_id: str) -> list[QuarantineRow]:
        """Evidence kept for one device, oldest first."""
        rows = self._run("quarantine_list", {"device_id": device_id}).fetchall()
        return [QuarantineRow(r[0], r[1], r[2], r[3], bytes(r[4]), *r[5:]) for r in rows]

    def alert(
        self, now: int, device_id: str | None, code: str, message: str, qid: int | None
    ) -> None:
        """Raise an alert for a person to look at."""
        params = {"now": now, "device_id": device_id, "code": code, "message": message}
        self._run("alert_insert", {**params, "quarantine_id": qid})

    def alerts(self, limit: int) -> list[AlertRow]:
        """The newest alerts first."""
        return [AlertRow(*row) for row in self._run("alert_list", {"limit": limit}).fetchall()]

    def use_nonce(self, device_id: str, nonce: str, expires_at: int) -> bool:
        """Remember a request nonce; False if it was seen before (a replay)."""
        params = {"device_id": device_id, "nonce": nonce, "expires_at": expires_at}
        return bool(self._run("nonce_insert", params).rowcount == 1)

    def purge_nonces(self, device_id: str, now: int) -> None:
        """Forget a device's nonces whose timestamps could no longer pass the freshness check."""
        self._run("nonce_purge", {"device_id": device_id, "now": now})


def _device(row: Any) -> DeviceRow:
    return DeviceRow(row[0], bytes(row[1]), row[2], row[3], row[4])


class Database:
    """Opens a connection per unit of work, so request handlers share no state but the DB."""

    def __init__(self, connect: Callable[[], Any], dialect: Dialect) -> None:
        self._connect = connect
        self.dialect = dialect

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction, committed (durably) when the block ends without error."""
        connection = self._connect()
        try:
            connection.execute(self.dialect.begin_write)
            try:
                yield Tx(connection, self.dialect)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only unit of work."""
        connection = self._connect()
        try:
            yield Tx(connection, self.dialect)
        finally:
            connection.close()

    def create_schema(self) -> None:
        """Create the tables if missing (idempotent)."""
        with self.write() as tx:
            if self.dialect.lock_schema is not None:
                tx.execute_ddl(self.dialect.lock_schema)
            for statement in DDL:
                tx.execute_ddl(
                    statement.format(blob=self.dialect.blob, identity=self.dialect.identity)
                )
            tx.put_meta("schema_version", str(SCHEMA_VERSION))


def open_sqlite(path: Path) -> Database:
    """The embedded default: one SQLite file in WAL mode with full fsync on commit."""

    def connect() -> sqlite3.Connection:
        # isolation_level=None: this module issues BEGIN/COMMIT itself.
        connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    return Database(connect, SQLITE)


SQLITE_URL = "sqlite:///"
POSTGRES_URLS = ("postgresql://", "postgres://")


class DatabaseUnavailable(OSError):
    """The database cannot be reached; the message says where and what to check."""


def open_database(url: str) -> Database:
    """The database a URL names: ``postgresql://user@host:port/name`` or ``sqlite:///path``
    (a relative path; ``sqlite:////abs/path`` for an absolute one)."""
    if url.startswith(POSTGRES_URLS):
        return open_postgres(url)
    if url.startswith(SQLITE_URL) and len(url) > len(SQLITE_URL):
        return open_sqlite(Path(url[len(SQLITE_URL) :]))
    raise ValueError(
        f"unsupported database URL {url.split('://')[0]}://...: use "
        "postgresql://USER@HOST:PORT/DBNAME or sqlite:///PATH"
    )


def open_postgres(url: str) -> Database:
    """PostgreSQL for a fleet: a connection per unit of work, so any number of stateless ingest
    nodes can share one database (concurrency: see the module docstring)."""
    try:
        import psycopg  # optional: only a PostgreSQL deployment needs the driver
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as err:
        raise ValueError(
            "a postgresql:// database needs psycopg: pip install 'fieldcheck[postgres]'"
        ) from err
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        raise ValueError(f"unreadable PostgreSQL URL: {err}") from err
    # Named in errors without the password.
    where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"

    def connect() -> Any:
        try:
            # autocommit: this module issues BEGIN/COMMIT itself, as it does for SQLite.
            return psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as err:
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {where}: {str(err).strip()}; check the "
                "database URL, that the server is running and that it accepts this user"
            ) from err

    return Database(connect, POSTGRES)
