"""Opening the database: SQLite (WAL, busy timeout, 0600 files) or PostgreSQL (a connection pool).

Concurrency. Ingest nodes share nothing but the database, so two of them may handle requests of
one device at the same moment. A write transaction decides against the stored head, so writers
of one device must be serialised:

* SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at once (every writer waits,
  up to the busy timeout).
* PostgreSQL: ``READ COMMITTED`` plus ``SELECT ... FOR UPDATE`` on the device's row in
  ``devices``, taken first in the transaction (:meth:`Tx.lock_device`). Writers of one device
  queue on that row lock; writers of different devices run in parallel. Under READ COMMITTED
  every later statement sees what the previous lock holder committed, so the head read after the
  lock is current and the chain check holds. This was chosen over SERIALIZABLE with retry because
  a batch costs signature verification and hundreds of inserts: a conflict would throw that work
  away, and two nodes draining one device's backlog would conflict on nearly every batch; a row
  lock makes the loser wait instead. (REPEATABLE READ would be wrong: its snapshot is taken before
  the lock is granted, so it would read a stale head.) The primary key on (device_id, seq) stays
  the last line of defence: no code path can store a second record for one sequence number.
  Since only that device's writers wait on the lock, ingest takes it while the verify workers
  are still checking the batch (``Database.parallel_writers``); SQLite's lock stops every writer,
  so there the batch is verified before the transaction begins.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from fieldcheck_server.db.tx import Tx
from fieldcheck_server.errors import DatabaseUnavailable
from fieldcheck_server.files import private_dir, private_file

logger = logging.getLogger(__name__)

SQLITE_URL = "sqlite:///"
POSTGRES_URLS = ("postgresql://", "postgres://")
BUSY_TIMEOUT_S = 30.0
#: Connections kept open per process to PostgreSQL, and how many more a burst may open.
POOL_SIZE = 5
POOL_OVERFLOW = 10
_WRITE = "fieldcheck_write"


class Database:
    """An engine and the units of work on it; request handlers share nothing but this."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where  # for messages: never carries a password
        self.dialect = engine.dialect.name
        #: Whether a write transaction locks only what it touches, so writers of different
        #: devices run at once (PostgreSQL's row locks), not the whole database (SQLite's one
        #: write lock, which a transaction should hold as briefly as it can).
        self.parallel_writers = self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction, committed (durably) when the block ends without error."""
        with self._connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                yield Tx(connection)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only unit of work (one transaction, so a multi-page read is consistent)."""
        with self._connect() as connection, connection.begin():
            yield Tx(connection)

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except exc.OperationalError as err:
            if self.dialect == "postgresql":
                raise DatabaseUnavailable(
                    f"cannot connect to PostgreSQL at {self.where}: {str(err.orig).strip()}; "
                    "check the database URL, that the server is running and that it accepts "
                    "this user"
                ) from err
            raise DatabaseUnavailable(
                f"cannot open the SQLite database {self.where}: {str(err.orig).strip()}; check "
                "that the file and its folder exist and belong to the server's user"
            ) from err

    def dispose(self) -> None:
        """Close pooled connections (at shutdown, and in tests between engines)."""
        self.engine.dispose()


def open_database(url: str) -> Database:
    """The database a URL names: ``postgresql://user@host:port/name`` or ``sqlite:///path``
    (a relative path; ``sqlite:////abs/path`` for an absolute one)."""
    if url.startswith(POSTGRES_URLS):
        return open_postgres(url)
    if url.startswith(SQLITE_URL) and len(url) > len(SQLITE_URL):
        return open_sqlite(Path(url[len(SQLITE_URL) :]))
    raise DatabaseUnavailable(
        f"unsupported database URL {url.split('://')[0]}://...: use "
        "postgresql://USER@HOST:PORT/DBNAME or sqlite:///PATH"
    )


def open_sqlite(path: Path) -> Database:
    """The embedded default: one SQLite file (0600, its folder 0700) in WAL mode, full fsync."""
    private_dir(path.parent)
    # Created 0600 before SQLite opens it: SQLite gives -wal and -shm the database's mode.
    private_file(path)
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S, "isolation_level": None}
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return Database(engine, str(path))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # The driver's own BEGIN is off (isolation_level=None); IMMEDIATE takes the write lock at once,
    # serialising ingest across workers and processes.
    write = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_postgres(url: str) -> Database:
    """PostgreSQL for a fleet: a pool of connections, READ COMMITTED, so any number of stateless
    ingest nodes can share one database (concurrency: see the module docstring)."""
    try:
        import psycopg  # noqa: F401 - optional: only a PostgreSQL deployment needs the driver
    except ImportError as err:
        raise DatabaseUnavailable(
            "a postgresql:// database needs psycopg: pip install 'fieldcheck[postgres]'"
        ) from err
    try:
        parsed = make_url(url).set(drivername="postgresql+psycopg")
    except exc.ArgumentError as err:
        raise DatabaseUnavailable(f"unreadable PostgreSQL URL: {err}") from err
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    engine = create_engine(
        parsed,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_pre_ping=True,
        # Stated, not left to the server default: the device lock relies on READ COMMITTED.
        isolation_level="READ COMMITTED",
        connect_args={"connect_timeout": 10},
    )
    return Database(engine, where)
