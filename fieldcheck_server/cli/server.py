"""`fieldcheck server ...`: initialise, run and describe the ingest server."""

import argparse
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.export import server_public_key
from fieldcheck_protocol.signature import public_key_bytes
from fieldcheck_server import command_key, export_key, secret_box, tls
from fieldcheck_server.api.serve import HEADER_TIMEOUT_S, MAX_CONNECTIONS, ServeSettings
from fieldcheck_server.cli.common import DB_FILE, db_of, dir_arg
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database, open_sqlite
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.errors import RegistryError
from fieldcheck_server.files import private_dir


def register(parser: argparse.ArgumentParser) -> None:
    """Add the server sub-commands."""
    sub = parser.add_subparsers(dest="action", required=True)
    init = sub.add_parser("init", help="create the TLS key, certificate and database")
    dir_arg(init)
    init.add_argument(
        "--name",
        action="append",
        default=None,
        help="host name or IP the units use (repeatable; default 127.0.0.1, localhost)",
    )
    init.set_defaults(func=_server_init)
    run = sub.add_parser("run", help="serve HTTPS")
    dir_arg(run)
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
    run.add_argument("--review-key-file", type=Path, help="the review desk's X25519 private key "
                     "(64 hex digits): lets reviewers open sealed review images (audited)")
    run.set_defaults(func=_server_run)
    key = sub.add_parser(
        "export-key", help="print the public key that signs exports (publish it to checkers)"
    )
    dir_arg(key)
    key.set_defaults(func=_server_export_key)
    ckey = sub.add_parser(
        "command-key",
        help="print the public key that signs commands (made if missing; pin command.pub on units)",
    )
    dir_arg(ckey)
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
    secret_box.load_or_create(args.dir)  # made here so the first backup already holds it
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


def _review_key(path: Path | None) -> bytes | None:
    """The review desk's private key from a file of 64 hex digits, or None."""
    if path is None:
        return None
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise RegistryError(f"{path} does not hold a review key: 64 hex digits (32 bytes)")
    return key


def _server_run(args: argparse.Namespace) -> int:
    import uvicorn  # the server's own dependency, loaded only to serve

    from fieldcheck_server.api.app import create_app
    from fieldcheck_server.domain.ingest import IngestService

    db = db_of(args)
    migrate.upgrade(db)
    from fieldcheck_server.api.casework import CaseworkSettings

    casework = CaseworkSettings(command_key.load_or_create(private_dir(args.dir)),
                                args.tile_url, args.tile_attribution,
                                _review_key(args.review_key_file),
                                export_key=export_key.load_or_create(args.dir))
    access = AccessSettings(secrets=secret_box.load_or_create(private_dir(args.dir)))
    app = create_app(IngestService(db, SystemClock()), access=access, casework=casework)
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


def _server_command_key(args: argparse.Namespace) -> int:
    key = command_key.load_or_create(private_dir(args.dir))
    print(public_key_bytes(key).hex())
    print(f"pin it on each unit: copy {args.dir / command_key.PUBLIC_FILE} and set "
          "[sync] command_key to its path", file=sys.stderr)
    return 0
