"""`fieldcheck server|device|records|alerts`: run the ingest server and work with what it holds."""

import argparse
import getpass
import json
import os
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_cli.args import positive_int
from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.command import CommandKind
from fieldcheck_protocol.export import server_public_key
from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_protocol.signature import public_key_bytes
from fieldcheck_server import command_key, export_key, tls
from fieldcheck_server.api.serve import HEADER_TIMEOUT_S, MAX_CONNECTIONS, ServeSettings
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database, open_sqlite
from fieldcheck_server.domain import commands, export, record_view, registry
from fieldcheck_server.errors import RegistryError
from fieldcheck_server.files import private_dir, write_private

DB_FILE = "fieldcheck.db"
DEFAULT_DIR = Path(os.environ.get("FIELDCHECK_SERVER_DIR", "fieldcheck-server"))
DATABASE_ENV = "FIELDCHECK_DATABASE_URL"


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the server, device, records and alerts commands."""
    _server(subparsers.add_parser("server", help="the ingest server"))
    _device(subparsers.add_parser("device", help="the device registry (technicians)"))
    _records(subparsers.add_parser("records", help="records received from devices (officers)"))
    alerts = subparsers.add_parser("alerts", help="refusals and evidence needing a person")
    alerts_sub = alerts.add_subparsers(dest="action", required=True)
    listing = alerts_sub.add_parser("list", help="newest alerts first")
    _dir_arg(listing)
    listing.add_argument("--limit", type=positive_int, default=50, help="at most this many "
                         "(default 50)")
    listing.set_defaults(func=_alerts_list)


def _when(flag: str) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        try:
            return record_view.parse_time(text, flag)
        except RegistryError as err:
            raise argparse.ArgumentTypeError(err.message) from None
    return parse


def _dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="server directory: key, certificate, database (default $FIELDCHECK_SERVER_DIR "
        "or ./fieldcheck-server)",
    )
    _database_arg(parser)


def _database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=os.environ.get(DATABASE_ENV) or None,
        metavar="URL",
        help=f"postgresql://USER@HOST:PORT/DBNAME for a fleet (default ${DATABASE_ENV}, else "
        f"the SQLite file {DB_FILE} in the server directory)",
    )


def _server(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    init = sub.add_parser("init", help="create the TLS key, certificate and database")
    _dir_arg(init)
    init.add_argument(
        "--name",
        action="append",
        default=None,
        help="host name or IP the units use (repeatable; default 127.0.0.1, localhost)",
    )
    init.set_defaults(func=_server_init)
    run = sub.add_parser("run", help="serve HTTPS")
    _dir_arg(run)
    run.add_argument("--host", default="127.0.0.1", help="address to listen on")
    run.add_argument("--port", type=int, default=8443, help="port; 0 picks a free one")
    run.add_argument("--port-file", type=Path, help="write the port here once listening")
    run.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="IP",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable; default: none)",
    )
    run.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help=f"connections served at once; more get 503 (default {MAX_CONNECTIONS})",
    )
    run.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_S,
        metavar="SECONDS",
        help=f"drop a client that has not sent its headers by then (default {HEADER_TIMEOUT_S})",
    )
    run.add_argument("--tile-url", default=os.environ.get("FIELDCHECK_TILE_URL", ""),
                     metavar="TEMPLATE", help="map tiles for the timeline page, e.g. "
                     "https://tiles.example.org/{z}/{x}/{y}.png (default $FIELDCHECK_TILE_URL, "
                     "else none: tracks and markers draw on a blank map)")
    run.add_argument("--tile-attribution", default="", help="the tile server's credit line")
    run.set_defaults(func=_server_run)
    key = sub.add_parser(
        "export-key", help="print the public key that signs exports (publish it to checkers)"
    )
    _dir_arg(key)
    key.set_defaults(func=_server_export_key)
    ckey = sub.add_parser(
        "command-key",
        help="print the public key that signs commands (made if missing; pin command.pub on units)",
    )
    _dir_arg(ckey)
    ckey.set_defaults(func=_server_command_key)
    spec = sub.add_parser("openapi", help="write the OpenAPI spec")
    spec.add_argument("--out", type=Path, default=None, help="file (default: stdout)")
    spec.set_defaults(func=_server_openapi)
    bench = sub.add_parser("bench", help="ingest and drain benchmarks, as JSON")
    bench.add_argument("--records", type=int, default=2000, help="records per ingest run")
    bench.add_argument("--backlog", type=int, default=10_000, help="backlog to drain")
    bench.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="bench on this database (default: a temporary SQLite file); bench units are "
        "registered there and their records stay, so give a scratch database",
    )
    bench.set_defaults(func=_server_bench)


def _device(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("register", help="register a unit's public key")
    _dir_arg(add)
    add.add_argument("--id", required=True, help="device id from `fieldcheck-device identity show`")
    add.add_argument("--public-key", required=True, help="public key (hex or base64url)")
    add.add_argument("--label", default="", help="free text, e.g. the unit's serial sticker")
    add.set_defaults(func=_device_register)
    listing = sub.add_parser("list", help="registered units")
    _dir_arg(listing)
    listing.set_defaults(func=_device_list)
    for name, func, text in (
        ("revoke", _device_revoke, "refuse all further requests from a unit (audited)"),
        ("reinstate", _device_reinstate, "accept a revoked unit again (audited)"),
    ):
        change = sub.add_parser(name, help=text)
        _dir_arg(change)
        change.add_argument("--id", required=True)
        change.add_argument("--reason", required=True, help="why, kept in the audit trail")
        change.set_defaults(func=func)
    history = sub.add_parser("events", help="a unit's audit trail: registered, revoked, ...")
    _dir_arg(history)
    history.add_argument("--id", required=True)
    history.set_defaults(func=_device_events)
    _device_command(sub.add_parser("command", help="queue a signed command for a unit"))
    listing = sub.add_parser("commands", help="a unit's commands and their state")
    _dir_arg(listing)
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
    _dir_arg(parser)
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


def _records(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="one line per record: status, time, what happened "
                             "(event type, check-in verdict), place (rounded to ~100 m)")
    _dir_arg(listing)
    listing.add_argument("--device", required=True)
    listing.add_argument("--kind", choices=[k.value for k in Kind], default=None,
                         help="only records of this kind")
    listing.add_argument("--since", type=_when("--since"), default=None, metavar="TIME",
                         help="only records at or after this device time (ISO 8601, UTC "
                         "unless it has an offset: 2026-03-01 or 2026-03-01T14:30)")
    listing.add_argument("--until", type=_when("--until"), default=None, metavar="TIME",
                         help="only records before this device time")
    listing.add_argument("--limit", type=positive_int, default=None,
                         help="at most this many (default: all), oldest first")
    listing.set_defaults(func=_records_list)
    out = sub.add_parser("export", help="export a device's records")
    _dir_arg(out)
    out.add_argument("--device", required=True)
    out.add_argument("--format", choices=sorted(export.FORMATS), default="json")
    out.add_argument("--out", type=Path, default=None, help="file (default: stdout; not for cose)")
    out.set_defaults(func=_records_export)


def open_db(directory: Path, database: str | None = None) -> Database:
    """The server database: ``database`` if given, else the SQLite file in ``directory``
    (refusing a directory `server init` has not made)."""
    if database is not None:
        return open_database(database)
    path = directory / DB_FILE
    if not path.exists():
        raise RegistryError(
            f"no database at {path}: run `fieldcheck server init --dir {directory}`"
        )
    return open_sqlite(path)


def _db(args: argparse.Namespace) -> Database:
    return open_db(args.dir, args.database)


def _now_ms() -> int:
    return to_ms(SystemClock().now())


def _server_init(args: argparse.Namespace) -> int:
    names = tuple(args.name or ("127.0.0.1", "localhost"))
    private_dir(args.dir)
    fingerprint = tls.generate(args.dir, names, datetime.now(UTC))
    if args.database is None:
        db = open_sqlite(args.dir / DB_FILE)
    else:
        db = open_database(args.database)
    revision = migrate.upgrade(db)
    signing = server_public_key(export_key.load_or_create(args.dir))
    commanding = public_key_bytes(command_key.load_or_create(args.dir))
    print(f"server directory: {args.dir}")
    print(f"database:         {db.where} (schema {revision})")
    print(f"certificate:      {args.dir / tls.CERT_FILE} (copy to each unit)")
    print(f"fingerprint:      {fingerprint}")
    print(f"export key:       {signing.hex()} (publish it: it signs every export's head)")
    print(f"command key:      {commanding.hex()} (pin {args.dir / command_key.PUBLIC_FILE} "
          "on each unit as [sync] command_key)")
    print("set [sync] server_cert and fingerprint on each unit to pin this server")
    return 0


def _server_export_key(args: argparse.Namespace) -> int:
    public = server_public_key(export_key.load_or_create(args.dir))
    print(public.hex())
    return 0


def _server_run(args: argparse.Namespace) -> int:
    import uvicorn  # the server's own dependency, loaded only to serve

    from fieldcheck_server.api.app import create_app
    from fieldcheck_server.domain.ingest import IngestService

    db = _db(args)
    migrate.upgrade(db)
    from fieldcheck_server.api.casework import CaseworkSettings

    casework = CaseworkSettings(command_key.load_or_create(private_dir(args.dir)),
                                args.tile_url, args.tile_attribution)
    app = create_app(IngestService(db, SystemClock()), casework=casework)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    settings = ServeSettings(
        key_file=args.dir / tls.KEY_FILE,
        cert_file=args.dir / tls.CERT_FILE,
        trusted_proxies=tuple(args.trusted_proxy),
        max_connections=args.max_connections,
        header_timeout_s=args.header_timeout,
    )
    config = uvicorn.Config(app, **settings.uvicorn_options())
    if args.port_file is not None:
        temp = args.port_file.with_suffix(".tmp")
        temp.write_text(str(port))
        temp.replace(args.port_file)
    print(f"fieldcheck server listening on https://{args.host}:{port}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _server_openapi(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine

    from fieldcheck_server.api.app import create_app
    from fieldcheck_server.domain.ingest import IngestService

    # The spec does not touch the database; an in-memory one keeps this command side-effect free.
    unused = Database(create_engine("sqlite://"), "memory")
    spec = create_app(IngestService(unused, SystemClock())).openapi()
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


def _server_bench(args: argparse.Namespace) -> int:
    from fieldcheck_server.bench import run_all

    print(json.dumps(run_all(args.records, args.backlog, args.database), indent=2))
    return 0


def _device_register(args: argparse.Namespace) -> int:
    actor = registry.Actor(_operator())
    row = registry.register(_db(args), args.id, args.public_key, args.label, _now_ms(), actor)
    print(f"registered {row.device_id} {row.label}".rstrip())
    return 0


def _device_list(args: argparse.Namespace) -> int:
    for row in registry.devices(_db(args)):
        state = "revoked" if row.revoked_at is not None else "active"
        print(f"{row.device_id}  {state:7}  {row.public_key.hex()}  {row.label}".rstrip())
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    registry.revoke(_db(args), args.id, _now_ms(), registry.Actor(_operator(), args.reason))
    print(f"revoked {args.id}; `fieldcheck device reinstate --id {args.id}` undoes it")
    return 0


def _device_reinstate(args: argparse.Namespace) -> int:
    registry.reinstate(_db(args), args.id, _now_ms(), registry.Actor(_operator(), args.reason))
    print(f"reinstated {args.id}")
    return 0


def _device_events(args: argparse.Namespace) -> int:
    for event in registry.events(_db(args), args.id):
        when = datetime.fromtimestamp(event.at / 1000, UTC).isoformat(timespec="seconds")
        print(f"{when}  {event.action:10}  {event.actor}  {event.reason}".rstrip())
    return 0


def _operator() -> str:
    """Who runs the command, for the audit trail (the login name; never a secret)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _records_list(args: argparse.Namespace) -> int:
    query = record_view.RecordQuery(kind=Kind(args.kind) if args.kind else None,
                                    since=args.since, until=args.until, limit=args.limit)
    for row in query.select(export.rows(_db(args), args.device)):
        print(record_view.line(row))
    return 0


def _records_export(args: argparse.Namespace) -> int:
    listing = export.listing(_db(args), args.device)
    if args.format == "cose":
        if args.out is None:
            raise RegistryError("--format cose writes binary: give --out FILE")
        key = export_key.load_or_create(args.dir)
        write_private(args.out, export.to_cose_bytes(listing, key, _now_ms()))
        return 0
    data = export.TEXT_FORMATS[args.format](listing.rows)
    if args.out is None:
        sys.stdout.write(data if data.endswith("\n") else data + "\n")
    else:
        # Location data: readable by the officer who exported it, nobody else.
        write_private(args.out, data.encode("utf-8"))
    return 0


def _alerts_list(args: argparse.Namespace) -> int:
    with _db(args).read() as tx:
        alerts = tx.alerts(args.limit)
    for alert in alerts:
        when = datetime.fromtimestamp(alert.created_at / 1000, UTC).isoformat(timespec="seconds")
        print(f"{alert.id:>6}  {when}  {alert.device_id or '-'}  {alert.code}: {alert.message}")
    return 0


def _server_command_key(args: argparse.Namespace) -> int:
    key = command_key.load_or_create(private_dir(args.dir))
    print(public_key_bytes(key).hex())
    print(f"pin it on each unit: copy {args.dir / command_key.PUBLIC_FILE} and set "
          "[sync] command_key to its path", file=sys.stderr)
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
    row = commands.queue(_db(args), key, args.id, _VERBS[args.verb], _command_args(args),
                         _now_ms(), _operator(), ttl_ms)
    print(f"queued {row.kind} {row.id} (seq {row.seq}) for {row.device_id}; it goes out with "
          "the unit's next upload (`fieldcheck device commands --id ...` shows its state)")
    return 0


def _device_commands(args: argparse.Namespace) -> int:
    for view in commands.listing(_db(args), args.id, _now_ms()):
        row = view.row
        when = datetime.fromtimestamp(row.issued_at / 1000, UTC).isoformat(timespec="seconds")
        why = "" if row.reason in (None, "ok") else row.reason
        print(f"{row.seq:>5}  {row.id}  {row.kind:12}  {view.state.value:9}  {when}  "
              f"{row.actor}  {why}".rstrip())
    return 0
