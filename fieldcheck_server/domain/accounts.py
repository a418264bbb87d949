"""Operator accounts: argon2id password hashes, roles, lock-out after repeated failures, TOTP.

There are no default credentials: the first admin is made at the server's command line
(`fieldcheck admin create`), every later account by an admin. Every change is audited.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fieldcheck_server.db import access
from fieldcheck_server.db.access import UserRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import Tx
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.roles import Principal, Role
from fieldcheck_server.errors import AccessDenied, AccountError
from fieldcheck_server.secret_box import SealError, SecretBox, is_sealed

logger = logging.getLogger(__name__)

_USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
#: TOTP codes one step either side of the server's clock are accepted (phones drift).
TOTP_WINDOW = 1
TOTP_ISSUER = "fieldcheck"
#: Shown for any failed login that is not a lock-out, so it does not say which part was wrong.
BAD_LOGIN = "wrong username or password"


@dataclass(frozen=True)
class AccessSettings:
    """Password hashing, lock-out and session lifetimes (one object the app and CLI share)."""

    #: argon2id with RFC 9106's low-memory parameters (argon2-cffi's default).
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    max_failures: int = 5
    lockout_ms: int = 15 * 60_000
    session_idle_ms: int = 30 * 60_000
    session_absolute_ms: int = 12 * 3_600_000
    #: Seals TOTP seeds at rest (``secrets.key`` in the server directory); None: no TOTP enrolment.
    secrets: SecretBox | None = None


def check_username(username: str) -> str:
    """A username as stored; refuses odd characters (they end up in the audit log)."""
    if not _USERNAME.fullmatch(username):
        raise AccountError(
            f"username {username[:64]!r} is not allowed: use 1-64 letters, digits, '.', '_', "
            "'@' or '-'"
        )
    return username


def check_password(password: str) -> str:
    """A new password; refuses one too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must be at most {MAX_PASSWORD} characters long")
    return password


def principal_of(row: UserRow) -> Principal:
    """The principal an account acts as."""
    return Principal(row.id, row.username, Role(row.role))


def has_admin(db: Database) -> bool:
    """Whether an enabled admin exists (until then only login, health and devices answer)."""
    with db.read() as tx:
        return access.count_active(tx, Role.ADMIN.value) > 0


def create_first_admin(
    db: Database, settings: AccessSettings, username: str, password: str, now_ms: int,
    who: Principal,
) -> UserRow:
    """Make the first admin; refuses once an enabled admin exists."""
    if has_admin(db):
        raise AccountError(
            "an admin already exists: an admin adds further accounts with "
            "`fieldcheck admin user add --username NAME --role admin`"
        )
    return add_user(db, settings, username, password, Role.ADMIN, now_ms, who)


def add_user(
    db: Database, settings: AccessSettings, username: str, password: str, role: Role,
    now_ms: int, who: Principal,
) -> UserRow:
    """Create an account with a password (hashed with argon2id; the password is never stored)."""
    check_username(username)
    hashed = settings.hasher.hash(check_password(password))
    with db.write() as tx:
        user_id = access.insert_user(tx, username, hashed, role.value, now_ms)
        if user_id is None:
            raise AccountError(f"username {username!r} is taken (`fieldcheck admin user list`)")
        audit.record(tx, who, "user.add", username, now_ms, {"role": role.value})
        row = access.user(tx, user_id)
    assert row is not None
    return row


def users(db: Database) -> list[UserRow]:
    """Every account, by username."""
    with db.read() as tx:
        return access.all_users(tx)


def named(tx: Tx, username: str) -> UserRow:
    """The account with this name; the error says how to list them."""
    row = access.user_by_name(tx, username)
    if row is None:
        raise AccountError(f"no account {username[:64]!r} (`fieldcheck admin user list`)")
    return row


def set_disabled(db: Database, username: str, disabled: bool, now_ms: int, who: Principal) -> None:
    """Disable (ends its sessions; its tokens stop working) or enable an account."""
    with db.write() as tx:
        row = named(tx, username)
        if disabled == (row.disabled_at is not None):
            raise AccountError(f"{username} is already {'disabled' if disabled else 'enabled'}")
        if disabled:
            _keep_an_admin(tx, row)
            access.delete_user_sessions(tx, row.id)
        access.update_user(tx, row.id, disabled_at=now_ms if disabled else None)
        audit.record(tx, who, "user.disable" if disabled else "user.enable", username, now_ms)


def set_role(db: Database, username: str, role: Role, now_ms: int, who: Principal) -> None:
    """Change an account's role (ends its sessions, so the new role applies at once)."""
    with db.write() as tx:
        row = named(tx, username)
        if row.role == role.value:
            raise AccountError(f"{username} already has the role {role.value}")
        if role is not Role.ADMIN:
            _keep_an_admin(tx, row)
        access.update_user(tx, row.id, role=role.value)
        access.delete_user_sessions(tx, row.id)
        audit.record(tx, who, "user.set_role", username, now_ms,
                     {"from": row.role, "to": role.value})


def set_password(
    db: Database, settings: AccessSettings, username: str, password: str, now_ms: int,
    who: Principal, keep_session: str | None = None,
) -> None:
    """Give an account a new password; every session of it ends except ``keep_session`` (the
    token hash of the session that made the change, if it was the holder's own)."""
    hashed = settings.hasher.hash(check_password(password))
    with db.write() as tx:
        row = named(tx, username)
        access.update_user(tx, row.id, password_hash=hashed, failed_logins=0, locked_until=None)
        kept = access.session(tx, keep_session) if keep_session else None
        access.delete_user_sessions(tx, row.id)
        if kept is not None and kept.user_id == row.id:
            access.insert_session(tx, kept)
        audit.record(tx, who, "user.password", username, now_ms)


def change_own_password(
    db: Database, settings: AccessSettings, who: Principal, current: str, new: str, now_ms: int,
    session_hash: str,
) -> None:
    """The holder changes their password: the current one must be right (a failure counts
    towards the lock-out like a failed login)."""
    with db.read() as tx:
        row = access.user(tx, who.user_id)
    if row is None:
        raise AccessDenied("this account no longer exists")
    _refuse_locked(row, now_ms)
    if not _verify(settings, row.password_hash, current):
        failure(db, settings, row, now_ms, "password")
        raise AccessDenied("the current password is wrong; nothing changed")
    set_password(db, settings, row.username, new, now_ms, who, keep_session=session_hash)


def unlock(db: Database, username: str, now_ms: int, who: Principal) -> None:
    """Lift a lock-out before its time is up."""
    with db.write() as tx:
        row = named(tx, username)
        access.update_user(tx, row.id, failed_logins=0, locked_until=None)
        audit.record(tx, who, "user.unlock", username, now_ms)


def _keep_an_admin(tx: Tx, row: UserRow) -> None:
    if row.role == Role.ADMIN.value and row.disabled_at is None:
        if access.count_active(tx, Role.ADMIN.value) <= 1:
            raise AccountError(
                f"{row.username} is the last enabled admin: add another admin first, or nobody "
                "could manage accounts"
            )


def authenticate(
    db: Database, settings: AccessSettings, username: str, password: str, now_ms: int
) -> UserRow:
    """The account a username and password open; raises ``AccessDenied`` (after counting the
    failure towards the account's lock-out)."""
    with db.read() as tx:
        row = access.user_by_name(tx, username) if _USERNAME.fullmatch(username) else None
    if row is None:
        _burn_time(settings)  # an unknown name takes as long as a wrong password
        logger.info("login refused: no such account")
        raise AccessDenied(BAD_LOGIN)
    _refuse_locked(row, now_ms)
    if row.disabled_at is not None or not _verify(settings, row.password_hash, password):
        failure(db, settings, row, now_ms, "password")
        raise AccessDenied(BAD_LOGIN)
    with db.write() as tx:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if settings.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = settings.hasher.hash(password)
        access.update_user(tx, row.id, **values)
    return row


def failure(
    db: Database, settings: AccessSettings, row: UserRow, now_ms: int, what: str
) -> None:
    """Count a failed password or TOTP code; the ``max_failures``-th locks the account."""
    with db.write() as tx:
        count = access.count_failure(tx, row.id)
        detail: dict[str, object] = {"failed": what, "count": count}
        if count >= settings.max_failures:
            locked_until = now_ms + settings.lockout_ms
            access.update_user(tx, row.id, failed_logins=0, locked_until=locked_until)
            detail["locked_until"] = locked_until
        audit.record(tx, principal_of(row), "login.failed", row.username, now_ms, detail)


def _refuse_locked(row: UserRow, now_ms: int) -> None:
    if row.locked_until is not None and row.locked_until > now_ms:
        until = datetime.fromtimestamp(row.locked_until / 1000, UTC).strftime("%H:%M UTC")
        raise AccessDenied(
            f"this account is locked after repeated failed logins until {until}; an admin can "
            "unlock it sooner"
        )


def _verify(settings: AccessSettings, hashed: str, password: str) -> bool:
    try:
        return settings.hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: dict[int, str] = {}


def _burn_time(settings: AccessSettings) -> None:
    key = id(settings.hasher)
    if key not in _DUMMY:
        _DUMMY[key] = settings.hasher.hash("no such account, same cost")
    _verify(settings, _DUMMY[key], "wrong")


# TOTP ----------------------------------------------------------------------------------------


def enable_totp(
    db: Database, settings: AccessSettings, username: str, now_ms: int, who: Principal
) -> str:
    """Give an account a new TOTP secret, sealed at rest; returns the otpauth:// URI to load into
    an app (the only time the secret leaves the server)."""
    if settings.secrets is None:
        raise AccountError("the server's secrets key is not loaded, so a TOTP seed cannot be "
                           "stored sealed; run this through `fieldcheck admin` on the server")
    secret = pyotp.random_base32()
    with db.write() as tx:
        row = named(tx, username)
        sealed = settings.secrets.seal(secret, _totp_context(row.id))
        access.update_user(tx, row.id, totp_secret=sealed, totp_last_step=None)
        access.delete_user_sessions(tx, row.id)
        audit.record(tx, who, "user.totp_enable", username, now_ms)
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def disable_totp(db: Database, username: str, now_ms: int, who: Principal) -> None:
    """Remove an account's second factor (e.g. a lost phone)."""
    with db.write() as tx:
        row = named(tx, username)
        if row.totp_secret is None:
            raise AccountError(f"{username} has no TOTP second factor")
        access.update_user(tx, row.id, totp_secret=None, totp_last_step=None)
        audit.record(tx, who, "user.totp_disable", username, now_ms)


def check_totp(
    db: Database, settings: AccessSettings, user_id: int, code: str, now_ms: int
) -> None:
    """Accept a TOTP code once (a code already used is refused); raises ``AccessDenied``.

    A seed stored in plain text by an older server is sealed on its first good code."""
    with db.write() as tx:
        row = access.user(tx, user_id)
        if row is None or row.totp_secret is None:
            raise AccessDenied("this account has no second factor to check")
        _refuse_locked(row, now_ms)
        secret = _totp_secret(settings, row.id, row.totp_secret)
        step = _matching_step(secret, code.strip(), now_ms)
        fresh = step is not None and (row.totp_last_step is None or step > row.totp_last_step)
        if fresh:
            changes: dict[str, object] = {"totp_last_step": step, "failed_logins": 0}
            if not is_sealed(row.totp_secret) and settings.secrets is not None:
                changes["totp_secret"] = settings.secrets.seal(secret, _totp_context(row.id))
            access.update_user(tx, row.id, **changes)
            return
    failure(db, settings, row, now_ms, "totp")
    raise AccessDenied("wrong or already used code: wait for the next one")


def _totp_context(user_id: int) -> str:
    return f"totp:{user_id}"


def _totp_secret(settings: AccessSettings, user_id: int, stored: str) -> str:
    """The base32 seed of a stored value: sealed (opened with the secrets key) or legacy plain."""
    if not is_sealed(stored):
        return stored
    if settings.secrets is None:
        raise AccessDenied("the server's secrets key is not loaded: the second factor cannot "
                           "be checked; ask an administrator")
    try:
        return settings.secrets.open(stored, _totp_context(user_id))
    except SealError as err:
        logger.error("TOTP seed of account %s does not open: %s", user_id, err.message)
        raise AccessDenied("the second factor cannot be checked on this server; ask an "
                           "administrator to reset it") from None


def _matching_step(secret: str, code: str, now_ms: int) -> int | None:
    totp = pyotp.TOTP(secret)
    step_now = now_ms // 1000 // totp.interval
    for step in range(step_now - TOTP_WINDOW, step_now + TOTP_WINDOW + 1):
        if code.isdigit() and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
