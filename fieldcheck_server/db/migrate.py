"""Bring a database to the schema this server needs: ``alembic upgrade head``, run in-process.

Run by `fieldcheck server init` and `fieldcheck server run`. A database created before migrations
existed (its ``meta`` table says schema version 1 and it has no ``alembic_version``) is stamped at
the baseline revision first, so its data stays where it is. On PostgreSQL an advisory lock makes
two nodes starting at once migrate one after the other.
"""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text

from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tables import meta
from fieldcheck_server.errors import MigrationError

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
LEGACY_SCHEMA_VERSION = "1"
_SCHEMA_LOCK = 4242001


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision the migration scripts know."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The revision a database is at (None: empty, or made before migrations existed)."""
    with db.read() as tx:
        return MigrationContext.configure(tx.connection).get_current_revision()


def upgrade(db: Database) -> str:
    """Upgrade ``db`` to the newest schema; returns the revision it is at."""
    config = _config()
    with db.write() as tx:
        connection = tx.connection
        if db.dialect == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})"))
        config.attributes["connection"] = connection
        if _made_before_migrations(connection):
            logger.info("database %s predates migrations: stamping it at %s", db.where, BASELINE)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise MigrationError(f"the database at {db.where} has no schema revision after upgrade")
    return revision


def _made_before_migrations(connection: Connection) -> bool:
    inspector = inspect(connection)
    if inspector.has_table("alembic_version") or not inspector.has_table("meta"):
        return False
    version = connection.execute(
        select(meta.c.value).where(meta.c.key == "schema_version")
    ).scalar()
    if version != LEGACY_SCHEMA_VERSION:
        raise MigrationError(
            f"the database has a meta table with schema_version {version!r} but no migration "
            "history: it was not made by a fieldcheck server this version can upgrade"
        )
    return True
