"""API tokens for integrations: random, shown once, stored as sha256, scoped to a role, revocable.

A token belongs to an account and acts as it (an officer's token sees that officer's caseload).
Its role is the account's, except that an admin may make a token with a narrower role (e.g. an
auditor token for an export job). A token stops working when revoked or its account is disabled,
and when a non-admin account's role changes.
"""

import secrets
from dataclasses import dataclass

from fieldcheck_server.db import access
from fieldcheck_server.db.access import TokenRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.accounts import named
from fieldcheck_server.domain.roles import Principal, Role
from fieldcheck_server.domain.sessions import token_hash
from fieldcheck_server.errors import AccountError

PREFIX = "fct_"
_SHOWN = 12
#: ``last_used_at`` is written at most this often (a write per API call would serialise them).
TOUCH_MS = 60_000


@dataclass(frozen=True)
class NewToken:
    """A token just made: the secret (shown once, never stored) and its row."""

    secret: str
    row: TokenRow


def create(
    db: Database, username: str, name: str, role: Role | None, now_ms: int, who: Principal
) -> NewToken:
    """Make a token for an account; ``role`` None means the account's own role."""
    if not name.strip() or len(name) > 64:
        raise AccountError("give the token a name of 1-64 characters (what uses it)")
    secret = PREFIX + secrets.token_urlsafe(32)
    with db.write() as tx:
        owner = named(tx, username)
        scope = role or Role(owner.role)
        if scope.value != owner.role and owner.role != Role.ADMIN.value:
            raise AccountError(
                f"{username} is {owner.role}: only an admin's token may have another role"
            )
        token_id = access.insert_token(
            tx, token_hash(secret), secret[:_SHOWN], name, owner.id, scope.value, now_ms
        )
        audit.record(tx, who, "token.create", f"token {token_id}", now_ms,
                     {"name": name, "owner": username, "role": scope.value})
        row = access.token(tx, token_id)
    assert row is not None
    return NewToken(secret, row)


def listing(db: Database) -> list[TokenRow]:
    """Every token (never the secret), oldest first."""
    with db.read() as tx:
        return access.all_tokens(tx)


def revoke(db: Database, token_id: int, now_ms: int, who: Principal) -> None:
    """Stop a token working, for good."""
    with db.write() as tx:
        if not access.revoke_token(tx, token_id, now_ms):
            raise AccountError(
                f"no unrevoked token {token_id} (`fieldcheck admin token list` shows them)"
            )
        audit.record(tx, who, "token.revoke", f"token {token_id}", now_ms)


def resolve(db: Database, secret: str, now_ms: int) -> Principal | None:
    """The principal a bearer token acts as, or None when it opens nothing."""
    if not secret.startswith(PREFIX):
        return None
    with db.read() as tx:
        row = access.token_by_hash(tx, token_hash(secret))
        owner = access.user(tx, row.user_id) if row is not None else None
    if row is None or owner is None or row.revoked_at is not None or owner.disabled_at is not None:
        return None
    if owner.role != Role.ADMIN.value and owner.role != row.role:
        return None
    if row.last_used_at is None or now_ms - row.last_used_at >= TOUCH_MS:
        with db.write() as tx:
            access.update_token(tx, row.id, last_used_at=now_ms)
    return Principal(owner.id, owner.username, Role(row.role), row.name)
