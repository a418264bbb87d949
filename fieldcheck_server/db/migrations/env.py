"""Alembic's environment: migrations always run on the connection ``migrate.upgrade`` hands over."""

from alembic import context

from fieldcheck_server.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
