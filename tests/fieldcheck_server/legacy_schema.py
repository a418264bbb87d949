"""A database as the pre-migration server made it: its DDL frozen here, rows in every table.

Copied from ``fieldcheck_server/db.py`` as it was before SQLAlchemy and Alembic (schema version 1),
and written with the plain drivers, so the migration tests start from exactly what a deployed
server holds, not from what today's code would create.
"""

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from fieldcheck_protocol.signature import record_hash
from tests.firmware.sync.devicesim import SimDevice

SQLITE_TYPES = {"blob": "BLOB", "identity": "INTEGER PRIMARY KEY"}
POSTGRES_TYPES = {"blob": "BYTEA", "identity": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"}

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


@dataclass
class LegacyData:
    """What was written into the legacy database, to compare after the upgrade."""

    active: SimDevice
    revoked: SimDevice
    chain: list[bytes]
    forked: bytes
    nonce: str


def populate(execute: Callable[[str, tuple[Any, ...]], None], types: dict[str, str]) -> LegacyData:
    """Create the legacy schema and fill every table (``execute`` runs one statement)."""
    for statement in DDL:
        execute(statement.format(**types), ())
    execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("schema_version", "1"))
    active, revoked = SimDevice(seed=31), SimDevice(seed=32)
    execute(
        "INSERT INTO devices (device_id, public_key, label, registered_at) VALUES (?, ?, ?, ?)",
        (active.device_id, active.public_key, "unit 1", 1000),
    )
    execute(
        "INSERT INTO devices (device_id, public_key, label, registered_at, revoked_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (revoked.device_id, revoked.public_key, "unit 2", 1000, 2000),
    )
    chain = active.extend(5)
    prev = b"\0" * 32
    for seq, cose in enumerate(chain):
        execute(
            "INSERT INTO records (device_id, seq, cose, record_hash, prev_hash, kind, "
            "device_time, received_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (active.device_id, seq, cose, record_hash(cose), prev, "location", seq, 3000, "t"),
        )
        prev = record_hash(cose)
    forked = cbor2.dumps(["not", "a", "record"])
    execute(
        "INSERT INTO quarantine (device_id, seq, code, message, raw, raw_size, digest, "
        "received_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (active.device_id, 3, "fork", "seq 3 differs", forked, len(forked), b"d" * 32, 4000, "t"),
    )
    execute(
        "INSERT INTO alerts (created_at, device_id, code, message, quarantine_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (4000, active.device_id, "fork", "seq 3 differs", 1),
    )
    nonce = "ab" * 16
    execute(
        "INSERT INTO nonces (device_id, nonce, expires_at) VALUES (?, ?, ?)",
        (active.device_id, nonce, 99_999_999_999),
    )
    return LegacyData(active, revoked, chain, forked, nonce)


def legacy_sqlite(path: str) -> LegacyData:
    """A legacy SQLite file at ``path``."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        return populate(lambda sql, args: connection.execute(sql, args) and None, SQLITE_TYPES)
    finally:
        connection.close()


def legacy_postgres(url: str) -> LegacyData:
    """A legacy PostgreSQL schema at ``url`` (one made by ``PgCluster.fresh_schema_url``)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:

        def execute(sql: str, args: tuple[Any, ...]) -> None:
            connection.execute(sql.replace("?", "%s"), args)

        return populate(execute, POSTGRES_TYPES)
