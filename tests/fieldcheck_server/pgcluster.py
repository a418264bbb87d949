"""A throwaway PostgreSQL cluster for the server tests: initdb in a temp dir, loopback only."""

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("FIELDCHECK_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
DATABASE = "fieldcheck"
# Test-only speed settings: durability is not what these tests check, and locking and isolation
# behave the same without fsync. A durable cluster (the bench's) runs on PostgreSQL's defaults.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or None if it can."""
    missing = [name for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).exists()]
    if missing:
        return f"PostgreSQL binaries {', '.join(missing)} not found in {PG_BIN}"
    try:
        import psycopg  # noqa: F401 - only probing that the driver is installed
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        return f"no {PG_USER!r} system user to own the cluster"
    if _running_as() != PG_USER and os.geteuid() != 0:
        return f"the cluster must run as {PG_USER!r}: run the tests as root or as {PG_USER!r}"
    if _running_as() != PG_USER and shutil.which("runuser") is None:
        return "runuser is not available to start the cluster as the postgres user"
    return None


def _running_as() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One cluster, one database; each test gets its own schema in it.

    ``durable`` keeps PostgreSQL's own settings (fsync, synchronous commit, full page writes
    on), as a deployment runs: what a benchmark must measure. The tests' cluster turns them off.
    """

    def __init__(self, durable: bool = False) -> None:
        self.options = "" if durable else SERVER_OPTIONS
        # Not under pytest's tmp dir: that is private to root, and the postgres user must enter.
        self.root = Path(tempfile.mkdtemp(prefix="fieldcheck-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.port = _free_port()
        self._schemas = itertools.count()

    def _as_postgres(self, *argv: str) -> None:
        prefix = [] if _running_as() == PG_USER else ["runuser", "-u", PG_USER, "--"]
        done = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}"[-3000:])

    def start(self) -> None:
        """initdb, start on 127.0.0.1 only, create the database."""
        self.sockets.mkdir()
        if os.geteuid() == 0:
            account = pwd.getpwnam(PG_USER)
            for path in (self.root, self.sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
        initdb = ("-D", str(self.data), "-A", "trust", "-U", PG_USER, "-E", "UTF8", "--no-sync")
        self._as_postgres(str(PG_BIN / "initdb"), *initdb, "--locale=C")
        options = f"-k {self.sockets} -p {self.port} -c listen_addresses=127.0.0.1 {self.options}"
        pg_ctl = str(PG_BIN / "pg_ctl")
        log = str(self.root / "server.log")
        self._as_postgres(pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        self.admin(f"CREATE DATABASE {DATABASE}")

    def url(self, database: str = DATABASE) -> str:
        """The URL of a database in this cluster (trust authentication on loopback)."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE DATABASE, CREATE SCHEMA)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as connection:
            connection.execute(statement.encode())

    def fresh_schema_url(self) -> str:
        """A URL whose connections work in a new, empty schema (one per test)."""
        schema = f"test_{next(self._schemas)}"
        self.admin(f"CREATE SCHEMA {schema}", DATABASE)
        return f"{self.url()}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        """Stop the server at once and delete everything it wrote."""
        try:
            if (self.data / "postmaster.pid").exists():
                pg_ctl = str(PG_BIN / "pg_ctl")
                self._as_postgres(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
