"""`fieldcheck admin ...`: the first admin, operator accounts, API tokens, the audit chain.

Run on the server by someone who holds its database; they act as ``cli:LOGIN`` in the audit log.
Passwords are read from a prompt or ``--password-file`` (never from the command line, which other
users of the machine can see).
"""

import argparse
import getpass
import sys
from pathlib import Path

from fieldcheck_server import secret_box
from fieldcheck_server.cli.common import db_of, dir_arg, now_ms, operator, stamp
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import accounts, audit, tokens
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.roles import Principal, Role, cli_principal
from fieldcheck_server.errors import AccountError
from fieldcheck_server.files import private_dir

ROLES = [role.value for role in Role]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the admin sub-commands."""
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="make the first admin (there are no default accounts)")
    _account_args(create, password=True)
    create.set_defaults(func=_create)
    _users(sub.add_parser("user", help="operator accounts"))
    _tokens(sub.add_parser("token", help="API tokens for integrations"))
    chain = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(
        dest="audit_action", required=True
    )
    verify = chain.add_parser("verify", help="recompute the chain; exit 1 at the first break")
    dir_arg(verify)
    verify.set_defaults(func=_audit_verify)
    listing = chain.add_parser("list", help="the newest entries, newest first")
    dir_arg(listing)
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(func=_audit_list)


def _account_args(parser: argparse.ArgumentParser, password: bool = False) -> None:
    dir_arg(parser)
    parser.add_argument("--username", required=True)
    if password:
        parser.add_argument(
            "--password-file",
            type=Path,
            help="read the password from the first line of this file (default: prompt twice)",
        )


def _users(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="user_action", required=True)
    add = sub.add_parser("add", help="add an account")
    _account_args(add, password=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.set_defaults(func=_user_add)
    listing = sub.add_parser("list", help="every account: role, state, second factor")
    dir_arg(listing)
    listing.set_defaults(func=_user_list)
    for name, func, text in (
        ("disable", _user_disable, "disable an account (ends its sessions, stops its tokens)"),
        ("enable", _user_enable, "enable a disabled account again"),
        ("unlock", _user_unlock, "lift a lock-out after repeated failed logins"),
    ):
        change = sub.add_parser(name, help=text)
        _account_args(change)
        change.set_defaults(func=func)
    role = sub.add_parser("set-role", help="change an account's role (ends its sessions)")
    _account_args(role)
    role.add_argument("--role", required=True, choices=ROLES)
    role.set_defaults(func=_user_set_role)
    password = sub.add_parser("password", help="set a new password for an account (ends its "
                              "sessions)")
    _account_args(password, password=True)
    password.set_defaults(func=_user_password)
    totp = sub.add_parser("totp", help="give an account a TOTP second factor (prints its URI)")
    _account_args(totp)
    totp.add_argument("--off", action="store_true", help="remove the second factor instead")
    totp.set_defaults(func=_user_totp)


def _tokens(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="token_action", required=True)
    create = sub.add_parser("create", help="make a token acting as an account (shown once)")
    _account_args(create)
    create.add_argument("--name", required=True, help="what uses it, e.g. 'case system sync'")
    create.add_argument(
        "--role", choices=ROLES, default=None,
        help="narrower role for an admin's token (default: the account's role)",
    )
    create.set_defaults(func=_token_create)
    listing = sub.add_parser("list", help="every token (never the secret)")
    dir_arg(listing)
    listing.set_defaults(func=_token_list)
    revoke = sub.add_parser("revoke", help="stop a token working, for good")
    dir_arg(revoke)
    revoke.add_argument("--id", type=int, required=True, help="the id `token list` shows")
    revoke.set_defaults(func=_token_revoke)


def _db(args: argparse.Namespace) -> Database:
    """The database, brought to this server's schema (accounts arrived in a later revision)."""
    db = db_of(args)
    migrate.upgrade(db)
    return db


def _who() -> Principal:
    return cli_principal(operator())


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        lines = args.password_file.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0]:
            raise AccountError(f"{args.password_file} is empty: put the password on its first line")
        return accounts.check_password(lines[0])
    if not sys.stdin.isatty():
        raise AccountError("no terminal to ask for a password on: give --password-file FILE")
    first = getpass.getpass(f"password for {args.username}: ")
    accounts.check_password(first)
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ; nothing changed")
    return first


def _create(args: argparse.Namespace) -> int:
    row = accounts.create_first_admin(
        _db(args), AccessSettings(), args.username, _password(args), now_ms(), _who()
    )
    print(f"admin {row.username} created; sign in at https://HOST:PORT/login")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    row = accounts.add_user(
        _db(args), AccessSettings(), args.username, _password(args), Role(args.role), now_ms(),
        _who(),
    )
    print(f"added {row.username} ({row.role})")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    for row in accounts.users(_db(args)):
        state = "disabled" if row.disabled_at is not None else "enabled"
        if row.locked_until is not None and row.locked_until > now_ms():
            state = f"locked until {stamp(row.locked_until)}"
        totp = "totp" if row.totp_secret else "-"
        print(f"{row.id:>4}  {row.username:24}  {row.role:10}  {totp:4}  {state}")
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    accounts.set_disabled(_db(args), args.username, True, now_ms(), _who())
    print(f"disabled {args.username}; `fieldcheck admin user enable` undoes it")
    return 0


def _user_enable(args: argparse.Namespace) -> int:
    accounts.set_disabled(_db(args), args.username, False, now_ms(), _who())
    print(f"enabled {args.username}")
    return 0


def _user_unlock(args: argparse.Namespace) -> int:
    accounts.unlock(_db(args), args.username, now_ms(), _who())
    print(f"unlocked {args.username}")
    return 0


def _user_set_role(args: argparse.Namespace) -> int:
    accounts.set_role(_db(args), args.username, Role(args.role), now_ms(), _who())
    print(f"{args.username} is now {args.role}; their sessions were ended")
    return 0


def _user_password(args: argparse.Namespace) -> int:
    accounts.set_password(
        _db(args), AccessSettings(), args.username, _password(args), now_ms(), _who()
    )
    print(f"new password set for {args.username}; their sessions were ended")
    return 0


def _user_totp(args: argparse.Namespace) -> int:
    db = _db(args)
    if args.off:
        accounts.disable_totp(db, args.username, now_ms(), _who())
        print(f"{args.username} signs in with a password alone now")
        return 0
    settings = AccessSettings(secrets=secret_box.load_or_create(private_dir(args.dir)))
    uri = accounts.enable_totp(db, settings, args.username, now_ms(), _who())
    print(uri)
    print("load this URI into the account holder's authenticator app (as a QR code or text); "
          "it is shown once", file=sys.stderr)
    return 0


def _token_create(args: argparse.Namespace) -> int:
    role = Role(args.role) if args.role else None
    made = tokens.create(_db(args), args.username, args.name, role, now_ms(), _who())
    print(made.secret)
    print(f"token {made.row.id} ({made.row.role}, acts as {args.username}): shown once, send it "
          "as `Authorization: Bearer TOKEN`", file=sys.stderr)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    db = _db(args)
    owners = {row.id: row.username for row in accounts.users(db)}
    for row in tokens.listing(db):
        state = f"revoked {stamp(row.revoked_at)}" if row.revoked_at else "active"
        print(f"{row.id:>4}  {row.prefix}...  {owners.get(row.user_id, '?'):20}  {row.role:10}  "
              f"last used {stamp(row.last_used_at)}  {state}  {row.name}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    tokens.revoke(_db(args), args.id, now_ms(), _who())
    print(f"revoked token {args.id}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    report = audit.verify(_db(args))
    if not report.ok:
        print(f"audit chain BROKEN after {report.entries} good entries: {report.problem}")
        return 1
    print(f"audit chain intact: {report.entries} entries, head {report.head.hex()}")
    print("keep the head hash somewhere else: a later run that shows fewer entries or another "
          "head at that count means entries were removed", file=sys.stderr)
    return 0


def _audit_list(args: argparse.Namespace) -> int:
    for row in audit.newest(_db(args), args.limit):
        print(f"{row.seq:>6}  {stamp(row.at)}  {row.actor:24}  {row.action:18}  {row.target}  "
              f"{row.detail if row.detail != '{}' else ''}".rstrip())
    return 0
