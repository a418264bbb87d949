"""Server-side sessions: a random token in the cookie, its sha256 in the database, a CSRF token
per session (the synchroniser pattern), idle and absolute expiry, and a TOTP stage.

A session opened by a password for an account with TOTP is at stage ``totp``: it opens nothing
but the code page until :func:`complete` moves it to ``full``.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from fieldcheck_server.db import access
from fieldcheck_server.db.access import SessionRow, UserRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.accounts import AccessSettings, principal_of
from fieldcheck_server.domain.roles import Principal

#: ``last_seen_at`` is written at most this often: idle expiry is exact to within it.
TOUCH_MS = 15_000
#: A session waiting for its TOTP code lasts this long at most.
TOTP_STAGE_MS = 5 * 60_000


class Stage(StrEnum):
    """How far a session has authenticated."""

    TOTP = "totp"
    FULL = "full"


@dataclass(frozen=True)
class Session:
    """A live session: who, the CSRF token its forms carry, and its stage."""

    principal: Principal
    csrf_token: str
    stage: Stage


def token_hash(token: str) -> str:
    """What the database keeps of a session or API token (a leaked table opens nothing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    db: Database, settings: AccessSettings, row: UserRow, now_ms: int
) -> tuple[str, Session]:
    """Start a session for an authenticated account; returns (cookie token, session)."""
    token = secrets.token_urlsafe(32)
    stage = Stage.TOTP if row.totp_secret else Stage.FULL
    lifetime = TOTP_STAGE_MS if stage is Stage.TOTP else settings.session_absolute_ms
    stored = SessionRow(
        token_hash=token_hash(token),
        user_id=row.id,
        csrf_token=secrets.token_urlsafe(32),
        stage=stage.value,
        created_at=now_ms,
        last_seen_at=now_ms,
        expires_at=now_ms + lifetime,
    )
    with db.write() as tx:
        access.purge_sessions(tx, now_ms)
        access.insert_session(tx, stored)
        if stage is Stage.FULL:
            audit.record(tx, principal_of(row), "login", row.username, now_ms)
    return token, Session(principal_of(row), stored.csrf_token, stage)


def resolve(db: Database, settings: AccessSettings, token: str, now_ms: int) -> Session | None:
    """The live session a cookie token names, touched; None when unknown, expired (idle or
    absolute) or its account is disabled."""
    key = token_hash(token)
    with db.read() as tx:
        stored = access.session(tx, key)
        row = access.user(tx, stored.user_id) if stored is not None else None
    if stored is None:
        return None
    idle = now_ms - stored.last_seen_at > settings.session_idle_ms
    if row is None or row.disabled_at is not None or idle or now_ms >= stored.expires_at:
        with db.write() as tx:
            access.delete_session(tx, key)
        return None
    if now_ms - stored.last_seen_at >= TOUCH_MS:
        with db.write() as tx:
            access.update_session(tx, key, last_seen_at=now_ms)
    return Session(principal_of(row), stored.csrf_token, Stage(stored.stage))


def complete(db: Database, settings: AccessSettings, token: str, now_ms: int) -> str | None:
    """Move a session past its TOTP stage (after the code was checked) under a fresh token, so a
    token seen before the second factor opens nothing; returns the new cookie token."""
    key = token_hash(token)
    fresh = secrets.token_urlsafe(32)
    with db.write() as tx:
        stored = access.session(tx, key)
        row = access.user(tx, stored.user_id) if stored is not None else None
        if stored is None or row is None:
            return None
        access.delete_session(tx, key)
        access.insert_session(tx, SessionRow(
            token_hash=token_hash(fresh), user_id=row.id, csrf_token=secrets.token_urlsafe(32),
            stage=Stage.FULL.value, created_at=now_ms, last_seen_at=now_ms,
            expires_at=now_ms + settings.session_absolute_ms,
        ))
        audit.record(tx, principal_of(row), "login", row.username, now_ms, {"totp": True})
    return fresh


def close(db: Database, token: str, now_ms: int) -> None:
    """End a session (log out); audited when it was a full one."""
    key = token_hash(token)
    with db.write() as tx:
        stored = access.session(tx, key)
        if stored is None:
            return
        access.delete_session(tx, key)
        row = access.user(tx, stored.user_id)
        if row is not None and stored.stage == Stage.FULL.value:
            audit.record(tx, principal_of(row), "logout", row.username, now_ms)


def csrf_matches(session: Session, offered: str | None) -> bool:
    """Whether a form or header carried this session's CSRF token (compared in constant time)."""
    return offered is not None and hmac.compare_digest(session.csrf_token, offered)
