"""What the server's commands share: the server directory, the database, the clock, the caller."""

import argparse
import getpass
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.db.engine import Database, open_database, open_sqlite
from fieldcheck_server.domain import record_view
from fieldcheck_server.errors import RegistryError

DB_FILE = "fieldcheck.db"
DEFAULT_DIR = Path(os.environ.get("FIELDCHECK_SERVER_DIR", "fieldcheck-server"))
DATABASE_ENV = "FIELDCHECK_DATABASE_URL"


def when(flag: str) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        try:
            return record_view.parse_time(text, flag)
        except RegistryError as err:
            raise argparse.ArgumentTypeError(err.message) from None
    return parse


def dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="server directory: key, certificate, database (default $FIELDCHECK_SERVER_DIR "
        "or ./fieldcheck-server)",
    )
    database_arg(parser)


def database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=os.environ.get(DATABASE_ENV) or None,
        metavar="URL",
        help=f"postgresql://USER@HOST:PORT/DBNAME for a fleet (default ${DATABASE_ENV}, else "
        f"the SQLite file {DB_FILE} in the server directory)",
    )


def open_db(directory: Path, database: str | None = None) -> Database:
    """The server database: ``database`` if given, else the SQLite file in ``directory``
    (refusing a directory `server init` has not made)."""
    if database is not None:
        return open_database(database)
    path = directory / DB_FILE
    if not path.exists():
        raise RegistryError(
            f"no database at {path}: run `fieldcheck server init --dir {directory}`"
        )
    return open_sqlite(path)


def db_of(args: argparse.Namespace) -> Database:
    return open_db(args.dir, args.database)


def now_ms() -> int:
    return to_ms(SystemClock().now())


def operator() -> str:
    """Who runs the command, for the audit trail (the login name; never a secret)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def stamp(ms: int | None) -> str:
    """A stored time for a listing (ISO 8601, UTC, seconds), or '-'."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
