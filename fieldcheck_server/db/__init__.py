"""The server data layer: SQLAlchemy Core tables, engines for SQLite and PostgreSQL, migrations."""
