"""`fieldcheck device ...`: the device registry and signed commands (technicians)."""

import argparse
from datetime import UTC, datetime

from fieldcheck_protocol.command import CommandKind
from fieldcheck_server import command_key
from fieldcheck_server.cli.common import db_of, dir_arg, now_ms, operator
from fieldcheck_server.domain import commands, registry
from fieldcheck_server.errors import RegistryError
from fieldcheck_server.files import private_dir


def register(parser: argparse.ArgumentParser) -> None:
    """Add the device sub-commands."""
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("register", help="register a unit's public key")
    dir_arg(add)
    add.add_argument("--id", required=True, help="device id from `fieldcheck-device identity show`")
    add.add_argument("--public-key", required=True, help="public key (hex or base64url)")
    add.add_argument("--label", default="", help="free text, e.g. the unit's serial sticker")
    add.set_defaults(func=_device_register)
    listing = sub.add_parser("list", help="registered units")
    dir_arg(listing)
    listing.set_defaults(func=_device_list)
    for name, func, text in (
        ("revoke", _device_revoke, "refuse all further requests from a unit (audited)"),
        ("reinstate", _device_reinstate, "accept a revoked unit again (audited)"),
    ):
        change = sub.add_parser(name, help=text)
        dir_arg(change)
        change.add_argument("--id", required=True)
        change.add_argument("--reason", required=True, help="why, kept in the audit trail")
        change.set_defaults(func=func)
    history = sub.add_parser("events", help="a unit's audit trail: registered, revoked, ...")
    dir_arg(history)
    history.add_argument("--id", required=True)
    history.set_defaults(func=_device_events)
    _device_command(sub.add_parser("command", help="queue a signed command for a unit"))
    listing = sub.add_parser("commands", help="a unit's commands and their state")
    dir_arg(listing)
    listing.add_argument("--id", required=True)
    listing.set_defaults(func=_device_commands)


#: CLI verb -> command kind.
_VERBS = {
    "checkin": CommandKind.CHECKIN_NOW,
    "message": CommandKind.MESSAGE,
    "set-policy": CommandKind.SET_POLICY,
    "selftest": CommandKind.SELFTEST,
    "offer-update": CommandKind.OFFER_UPDATE,
}


def _device_command(parser: argparse.ArgumentParser) -> None:
    dir_arg(parser)
    parser.add_argument("--id", required=True, help="the unit's device id")
    parser.add_argument(
        "--ttl-hours",
        type=float,
        default=commands.DEFAULT_TTL_MS / 3_600_000,
        help="how long the command waits for the unit before it expires (default 24)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="KIND")
    verbs.add_parser("checkin", help="check in now")
    verbs.add_parser("message", help="show a message to the wearer").add_argument(
        "text", help="plain text, at most 280 characters"
    )
    verbs.add_parser("set-policy", help="change remotely changeable config keys").add_argument(
        "changes", nargs="+", metavar="KEY=VALUE", help="e.g. schedule.checkins_per_day=4"
    )
    verbs.add_parser("selftest", help="run the unit's self-test and report")
    update = verbs.add_parser("offer-update", help="offer an update bundle")
    update.add_argument("url", help="https:// URL of the bundle")
    update.add_argument("sha256", help="the bundle's sha256, hex")
    parser.set_defaults(func=_device_command_run)


def _device_register(args: argparse.Namespace) -> int:
    actor = registry.Actor(operator())
    row = registry.register(db_of(args), args.id, args.public_key, args.label, now_ms(), actor)
    print(f"registered {row.device_id} {row.label}".rstrip())
    return 0


def _device_list(args: argparse.Namespace) -> int:
    for row in registry.devices(db_of(args)):
        state = "revoked" if row.revoked_at is not None else "active"
        state = "retired" if row.retired_at is not None else state  # decommissioned, for good
        print(f"{row.device_id}  {state:7}  {row.public_key.hex()}  {row.label}".rstrip())
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    registry.revoke(db_of(args), args.id, now_ms(), registry.Actor(operator(), args.reason))
    print(f"revoked {args.id}; `fieldcheck device reinstate --id {args.id}` undoes it")
    return 0


def _device_reinstate(args: argparse.Namespace) -> int:
    registry.reinstate(db_of(args), args.id, now_ms(), registry.Actor(operator(), args.reason))
    print(f"reinstated {args.id}")
    return 0


def _device_events(args: argparse.Namespace) -> int:
    for event in registry.events(db_of(args), args.id):
        when = datetime.fromtimestamp(event.at / 1000, UTC).isoformat(timespec="seconds")
        print(f"{when}  {event.action:10}  {event.actor}  {event.reason}".rstrip())
    return 0


def _policy_value(text: str) -> str | int | float | bool:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _command_args(args: argparse.Namespace) -> dict[str, object]:
    if args.verb == "message":
        return {"text": args.text}
    if args.verb == "offer-update":
        return {"url": args.url, "sha256": args.sha256}
    if args.verb == "set-policy":
        changes: dict[str, object] = {}
        for item in args.changes:
            key, sep, value = item.partition("=")
            if not sep:
                raise RegistryError(f"{item!r}: give KEY=VALUE, e.g. schedule.checkins_per_day=4")
            changes[key.strip()] = _policy_value(value.strip())
        return {"changes": changes}
    return {}


def _device_command_run(args: argparse.Namespace) -> int:
    key = command_key.load_or_create(private_dir(args.dir))
    ttl_ms = round(args.ttl_hours * 3_600_000)
    row = commands.queue(db_of(args), key, args.id, _VERBS[args.verb], _command_args(args),
                         now_ms(), operator(), ttl_ms)
    print(f"queued {row.kind} {row.id} (seq {row.seq}) for {row.device_id}; it goes out with "
          "the unit's next upload (`fieldcheck device commands --id ...` shows its state)")
    return 0


def _device_commands(args: argparse.Namespace) -> int:
    for view in commands.listing(db_of(args), args.id, now_ms()):
        row = view.row
        when = datetime.fromtimestamp(row.issued_at / 1000, UTC).isoformat(timespec="seconds")
        why = "" if row.reason in (None, "ok") else row.reason
        print(f"{row.seq:>5}  {row.id}  {row.kind:12}  {view.state.value:9}  {when}  "
              f"{row.actor}  {why}".rstrip())
    return 0
