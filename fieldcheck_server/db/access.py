"""Typed operations on operator accounts, sessions, API tokens and the audit log, in a ``Tx``."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from fieldcheck_server.db.tables import api_tokens, audit_log, sessions, users
from fieldcheck_server.db.tx import Tx

#: The PostgreSQL advisory lock that serialises appends to the audit chain.
_AUDIT_LOCK = 4242011


@dataclass(frozen=True)
class UserRow:
    """An operator account."""

    id: int
    username: str
    password_hash: str
    role: str
    created_at: int
    disabled_at: int | None
    failed_logins: int
    locked_until: int | None
    totp_secret: str | None
    totp_last_step: int | None


@dataclass(frozen=True)
class SessionRow:
    """A server-side session (the cookie holds the token; this row its sha256)."""

    token_hash: str
    user_id: int
    csrf_token: str
    stage: str
    created_at: int
    last_seen_at: int
    expires_at: int


@dataclass(frozen=True)
class TokenRow:
    """An API token for an integration (only its sha256 is kept)."""

    id: int
    token_hash: str
    prefix: str
    name: str
    user_id: int
    role: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


@dataclass(frozen=True)
class AuditRow:
    """One entry of the hash-chained audit log."""

    seq: int
    at: int
    actor: str
    actor_id: int | None
    role: str
    action: str
    target: str
    detail: str
    prev_hash: bytes
    entry_hash: bytes


def _insert_ignoring(tx: Tx, table: Table, *keys: str) -> Insert:
    insert = postgresql.insert if tx.connection.dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(keys))


def _row(kind: type[Any], row: Any) -> Any:
    return kind(**dict(row._mapping))


# Users ---------------------------------------------------------------------------------------


def insert_user(tx: Tx, username: str, password_hash: str, role: str, now: int) -> int | None:
    """Create an account; None when the username is taken."""
    statement = (
        _insert_ignoring(tx, users, "username")
        .values(
            username=username,
            password_hash=password_hash,
            role=role,
            created_at=now,
            failed_logins=0,
        )
        .returning(users.c.id)
    )
    value = tx.connection.execute(statement).scalar()
    return int(value) if value is not None else None


def user(tx: Tx, user_id: int) -> UserRow | None:
    """The account with this id, or None."""
    row = tx.connection.execute(select(users).where(users.c.id == user_id)).first()
    return _row(UserRow, row) if row else None


def user_by_name(tx: Tx, username: str) -> UserRow | None:
    """The account with this username, or None."""
    row = tx.connection.execute(select(users).where(users.c.username == username)).first()
    return _row(UserRow, row) if row else None


def all_users(tx: Tx) -> list[UserRow]:
    """Every account, by username."""
    rows = tx.connection.execute(select(users).order_by(users.c.username))
    return [_row(UserRow, row) for row in rows]


def count_active(tx: Tx, role: str) -> int:
    """How many enabled accounts have this role."""
    value = tx.connection.execute(
        select(func.count())
        .select_from(users)
        .where(users.c.role == role, users.c.disabled_at.is_(None))
    ).scalar()
    return int(value or 0)


def update_user(tx: Tx, user_id: int, **values: Any) -> bool:
    """Change columns of one account; False when there is no such account."""
    statement = (
        update(users).where(users.c.id == user_id).values(**values).returning(users.c.id)
    )
    return tx.connection.execute(statement).first() is not None


def count_failure(tx: Tx, user_id: int) -> int:
    """Add one failed login to an account; returns the new count (atomic under concurrency)."""
    statement = (
        update(users)
        .where(users.c.id == user_id)
        .values(failed_logins=users.c.failed_logins + 1)
        .returning(users.c.failed_logins)
    )
    return int(tx.connection.execute(statement).scalar_one())


# Sessions ------------------------------------------------------------------------------------


def insert_session(tx: Tx, row: SessionRow) -> None:
    """Store a new session."""
    tx.connection.execute(sessions.insert().values(**row.__dict__))


def session(tx: Tx, token_hash: str) -> SessionRow | None:
    """The session with this token hash, or None."""
    row = tx.connection.execute(
        select(sessions).where(sessions.c.token_hash == token_hash)
    ).first()
    return _row(SessionRow, row) if row else None


def update_session(tx: Tx, token_hash: str, **values: Any) -> None:
    """Change columns of one session (last seen, stage)."""
    tx.connection.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(**values)
    )


def delete_session(tx: Tx, token_hash: str) -> None:
    """End one session."""
    tx.connection.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


def delete_user_sessions(tx: Tx, user_id: int) -> None:
    """End every session of an account (disabled, role changed, password changed)."""
    tx.connection.execute(delete(sessions).where(sessions.c.user_id == user_id))


def purge_sessions(tx: Tx, before: int) -> None:
    """Forget sessions whose absolute expiry is past."""
    tx.connection.execute(delete(sessions).where(sessions.c.expires_at < before))


# API tokens ----------------------------------------------------------------------------------


def insert_token(
    tx: Tx, token_hash: str, prefix: str, name: str, user_id: int, role: str, now: int
) -> int:
    """Store a new API token's hash; returns its id."""
    statement = (
        api_tokens.insert()
        .values(
            token_hash=token_hash,
            prefix=prefix,
            name=name,
            user_id=user_id,
            role=role,
            created_at=now,
        )
        .returning(api_tokens.c.id)
    )
    return int(tx.connection.execute(statement).scalar_one())


def token_by_hash(tx: Tx, token_hash: str) -> TokenRow | None:
    """The token with this hash, or None."""
    row = tx.connection.execute(
        select(api_tokens).where(api_tokens.c.token_hash == token_hash)
    ).first()
    return _row(TokenRow, row) if row else None


def token(tx: Tx, token_id: int) -> TokenRow | None:
    """The token with this id, or None."""
    row = tx.connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    return _row(TokenRow, row) if row else None


def all_tokens(tx: Tx) -> list[TokenRow]:
    """Every token, oldest first."""
    rows = tx.connection.execute(select(api_tokens).order_by(api_tokens.c.id))
    return [_row(TokenRow, row) for row in rows]


def update_token(tx: Tx, token_id: int, **values: Any) -> None:
    """Change columns of one token (last used)."""
    tx.connection.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(**values))


def revoke_token(tx: Tx, token_id: int, now: int) -> bool:
    """Revoke a token; False when there is no such unrevoked token."""
    statement = (
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(api_tokens.c.id)
    )
    return tx.connection.execute(statement).first() is not None


# The audit log -------------------------------------------------------------------------------


def lock_audit(tx: Tx) -> None:
    """Serialise appends to the chain until the transaction ends (SQLite's write lock does it
    already; on PostgreSQL two writers would otherwise read the same head)."""
    if tx.connection.dialect.name == "postgresql":
        tx.connection.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})"))


def audit_head(tx: Tx) -> tuple[int, bytes] | None:
    """(seq, entry_hash) of the newest entry, or None for an empty log."""
    row = tx.connection.execute(
        select(audit_log.c.seq, audit_log.c.entry_hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), bytes(row[1])) if row else None


def insert_audit(tx: Tx, row: AuditRow) -> None:
    """Append one entry (the primary key refuses a second entry for one seq)."""
    tx.connection.execute(audit_log.insert().values(**row.__dict__))


def audit_entries(tx: Tx, from_seq: int, limit: int, newest_first: bool = False) -> list[AuditRow]:
    """Entries from ``from_seq`` on (oldest first), or the newest ``limit`` (newest first)."""
    query = select(audit_log)
    if newest_first:
        query = query.order_by(audit_log.c.seq.desc())
    else:
        query = query.where(audit_log.c.seq >= from_seq).order_by(audit_log.c.seq)
    rows = tx.connection.execute(query.limit(limit))
    return [_audit(row) for row in rows]


def _audit(row: Any) -> AuditRow:
    values = dict(row._mapping)
    values["prev_hash"] = bytes(values["prev_hash"])
    values["entry_hash"] = bytes(values["entry_hash"])
    return AuditRow(**values)
