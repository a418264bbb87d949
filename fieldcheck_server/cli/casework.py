"""`fieldcheck person|review|webhook`: people and caseloads, the review queue, alert receivers.

The host console has the database, so it acts as an admin (its login name in every record of
who did what); officers use the web pages, where the caseload bounds what they see.
"""

import argparse
import json
import logging
import random
import threading
from datetime import datetime, timedelta
from pathlib import Path

from fieldcheck_cli.args import positive_int
from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import from_ms, to_ms
from fieldcheck_server import webhook_post
from fieldcheck_server.cli import data
from fieldcheck_server.cli.common import DEFAULT_DIR, open_db, operator, when
from fieldcheck_server.db.casework import CaseTx
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import people, review, review_images, webhooks, zones
from fieldcheck_server.domain.review_scan import scan
from fieldcheck_server.domain.roles import Principal, Role, cli_principal
from fieldcheck_server.domain.timeline import timeline
from fieldcheck_server.errors import CaseworkError

logger = logging.getLogger(__name__)

def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the person, review and webhook commands."""
    _person(subparsers.add_parser("person", help="people, their devices, caseloads, zones"))
    _review(subparsers.add_parser("review", help="the review queue: scan, list, decide"))
    _webhook(subparsers.add_parser("webhook", help="alert receivers and their outbox"))


def _command(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str, text: str,
             func: object) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="server directory "
                        "(default $FIELDCHECK_SERVER_DIR or ./fieldcheck-server)")
    parser.add_argument("--database", default=None, metavar="URL",
                        help="postgresql://... instead of the directory's SQLite file")
    parser.set_defaults(func=func)
    return parser


def _person(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = _command(sub, "add", "add a person", _person_add)
    add.add_argument("case_number")
    add.add_argument("--name", required=True)
    add.add_argument("--languages", default="", help="comma-separated codes, e.g. es,en")
    add.add_argument("--officer", help="username of the officer whose caseload they are on")
    _command(sub, "list", "people and the device each wears now", _person_list).add_argument(
        "--officer", help="only this officer's caseload")
    assign = _command(sub, "assign", "give a person a device (ends their previous one)",
                      _person_assign)
    assign.add_argument("case_number")
    assign.add_argument("device_id")
    assign.add_argument("--reason", required=True, help="why (kept in the history)")
    _command(sub, "unassign", "end a person's current assignment",
             _person_unassign).add_argument("case_number")
    officer = _command(sub, "officer", "put a person on an officer's caseload", _person_officer)
    officer.add_argument("case_number")
    officer.add_argument("officer", nargs="?", help="username; leave out to take them off")
    data.register_person_export(sub)
    _command(sub, "history", "every device a person wore", _person_history).add_argument(
        "case_number")
    expected = _command(sub, "expected", "expected check-in windows against what arrived",
                        _person_expected)
    expected.add_argument("case_number")
    expected.add_argument("--now", type=when("--now"), help="judge as of this time")
    zone = _command(sub, "zone", "add an inclusion or exclusion zone", _person_zone)
    zone.add_argument("case_number")
    zone.add_argument("--name", required=True)
    zone.add_argument("--rule", required=True, choices=[r.value for r in zones.Rule])
    shape = zone.add_mutually_exclusive_group(required=True)
    shape.add_argument("--circle", metavar="LAT,LON,RADIUS_M")
    shape.add_argument("--polygon", metavar="LAT,LON;LAT,LON;...")
    zone.add_argument("--hours", default="", help="local HH:MM-HH:MM (default: always)")
    zone.add_argument("--timezone", default="UTC", help="IANA zone of the hours")
    _command(sub, "zones", "a person's zones", _person_zones).add_argument("case_number")


def _review(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    _command(sub, "scan", "queue what new records, missed windows and alerts call for",
             _review_scan)
    listing = _command(sub, "list", "open items, oldest first", _review_list)
    listing.add_argument("--all", action="store_true", help="decided items too")
    listing.add_argument("--limit", type=positive_int, default=100)
    _command(sub, "show", "one item with its evidence", _review_show).add_argument(
        "id", type=positive_int)
    decide = _command(sub, "decide", "record a decision and its reason", _review_decide)
    decide.add_argument("id", type=positive_int)
    decide.add_argument("decision", choices=[d.value for d in review.Decision])
    decide.add_argument("--reason", required=True, help="what you checked")
    images = _command(sub, "import-images", "keep sealed review frames brought from a unit",
                      _review_import)
    images.add_argument("files", nargs="+", type=Path, help="review-*.sealed files")
    images.add_argument("--retention-days", type=positive_int, default=30,
                        help="delete each frame this long after its capture (default 30)")
    _command(sub, "expire-images", "delete review frames past their retention (audited)",
             _review_expire)


def _webhook(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = _command(sub, "add", "add a receiver", _webhook_add)
    add.add_argument("url")
    add.add_argument("--secret-file", type=Path, required=True,
                     help="file holding the shared HMAC secret (at least 16 bytes)")
    _command(sub, "list", "receivers", _webhook_list)
    _command(sub, "disable", "stop sending to a receiver", _webhook_disable).add_argument(
        "id", type=positive_int)
    outbox = _command(sub, "outbox", "alerts waiting or sent, newest first", _webhook_outbox)
    outbox.add_argument("--pending", action="store_true", help="only undelivered ones")
    _command(sub, "retry", "make every undelivered alert due now", _webhook_retry)
    deliver = _command(sub, "deliver", "scan the queue and deliver due alerts", _webhook_deliver)
    deliver.add_argument("--loop", action="store_true", help="keep going until interrupted")
    deliver.add_argument("--interval", type=positive_int, default=30, help="seconds between "
                         "passes with --loop (default 30)")


def _db(args: argparse.Namespace) -> Database:
    return open_db(args.dir, args.database)


def _now_ms() -> int:
    return to_ms(SystemClock().now())


def _me() -> Principal:
    return cli_principal(operator())


def _iso(ms: int | None) -> str:
    return "-" if ms is None else from_ms(ms, "time").isoformat(timespec="seconds")


def _person_add(args: argparse.Namespace) -> int:
    row = people.add_person(_db(args), _me(), args.case_number, args.name,
                            args.languages.split(","), args.officer, _now_ms())
    print(f"added {row.case_number} {row.name} (officer {row.officer or '-'})")
    return 0


def _person_list(args: argparse.Namespace) -> int:
    viewer = Principal(0, args.officer, Role.OFFICER) if args.officer else _me()
    for person in people.people(_db(args), viewer):
        row = person.row
        print(f"{row.case_number:14}  {row.name:24}  {row.officer or '-':12}  "
              f"{person.device_id or '-'}  {row.languages}".rstrip())
    return 0


def _person_assign(args: argparse.Namespace) -> int:
    row = people.assign(_db(args), _me(), args.case_number, args.device_id, _now_ms(),
                        args.reason)
    print(f"{args.case_number} wears {row.device_id} from {_iso(row.start_at)}")
    return 0


def _person_unassign(args: argparse.Namespace) -> int:
    row = people.unassign(_db(args), _me(), args.case_number, _now_ms())
    print(f"{args.case_number} no longer wears {row.device_id}")
    return 0


def _person_officer(args: argparse.Namespace) -> int:
    people.set_officer(_db(args), _me(), args.case_number, args.officer, _now_ms())
    print(f"{args.case_number} is on {args.officer or 'no'} caseload")
    return 0


def _person_history(args: argparse.Namespace) -> int:
    for row in people.history(_db(args), _me(), args.case_number):
        print(f"{_iso(row.start_at)}  {_iso(row.end_at):25}  {row.device_id}  {row.actor}  "
              f"{row.reason}")
    return 0


def _person_expected(args: argparse.Namespace) -> int:
    now: datetime = args.now or SystemClock().now()
    for outcome in timeline(_db(args), _me(), args.case_number, now).expected:
        seqs = ",".join(str(s) for s in outcome.checkin_seqs) or "-"
        print(f"{outcome.window.due.isoformat(timespec='minutes')}  {outcome.status:9}  "
              f"{outcome.reason:24}  check-ins {seqs}")
    return 0


def _geometry(args: argparse.Namespace) -> str:
    try:
        if args.circle:
            lat, lon, radius = (float(v) for v in args.circle.split(","))
            return json.dumps({"circle": [lat, lon], "radius_m": radius})
        points = [[float(v) for v in p.split(",")] for p in args.polygon.split(";") if p]
    except ValueError:
        raise CaseworkError("--circle is LAT,LON,RADIUS_M and --polygon LAT,LON;LAT,LON;... "
                            "(decimal degrees)") from None
    return json.dumps({"polygon": points})


def _person_zone(args: argparse.Namespace) -> int:
    row = zones.add_zone(_db(args), _me(), args.case_number, args.name, args.rule,
                         _geometry(args), args.hours, args.timezone, _now_ms())
    print(f"zone {row.id} {row.name} ({row.rule}, {row.hours or 'always'})")
    return 0


def _person_zones(args: argparse.Namespace) -> int:
    db = _db(args)
    with db.read() as tx:
        person = people.person_for(tx, _me(), args.case_number)
        rows = CaseTx(tx).zones(person.id)
    for row in rows:
        print(f"{row.id:5}  {row.name:16}  {row.rule:9}  {row.hours or 'always':11}  "
              f"{row.timezone}")
    return 0


def _review_scan(args: argparse.Namespace) -> int:
    print(f"queued {scan(_db(args), _now_ms())} item(s)")
    return 0


def _review_list(args: argparse.Namespace) -> int:
    for item in review.queue(_db(args), _me(), open_only=not args.all, limit=args.limit):
        row = item.row
        state = row.decision or "open"
        print(f"{row.id:6}  {_iso(row.at)}  {row.kind:15}  {state:10}  {row.device_id or '-'}"
              f"  {row.summary}")
    return 0


def _review_show(args: argparse.Namespace) -> int:
    item = review.item(_db(args), _me(), args.id)
    print(json.dumps({**item.row.__dict__, "evidence": item.evidence}, indent=2, default=str))
    return 0


def _review_decide(args: argparse.Namespace) -> int:
    item = review.decide(_db(args), _me(), args.id, args.decision, args.reason, _now_ms())
    print(f"review {item.row.id}: {item.row.decision} by {item.row.decided_by}")
    return 0


def _review_import(args: argparse.Namespace) -> int:
    db, retention = _db(args), timedelta(days=args.retention_days)
    for path in args.files:
        done = review_images.import_sealed(db, _me(), path.read_bytes(), _now_ms(), retention)
        print(f"{path.name}: {'kept' if done.new else 'already kept'} ({done.device_id} record "
              f"{done.seq} frame {done.frame})")
    return 0


def _review_expire(args: argparse.Namespace) -> int:
    print(f"deleted {review_images.expire(_db(args), _me(), _now_ms())} review image(s)")
    return 0


def _webhook_add(args: argparse.Namespace) -> int:
    secret = args.secret_file.read_bytes().strip()
    row = webhooks.add_webhook(_db(args), _me(), args.url, secret, _now_ms())
    print(f"webhook {row.id} -> {row.url}")
    return 0


def _webhook_list(args: argparse.Namespace) -> int:
    db = _db(args)
    with db.read() as tx:
        rows = CaseTx(tx).webhooks(active_only=False)
    for row in rows:
        state = "active" if row.disabled_at is None else f"disabled {_iso(row.disabled_at)}"
        print(f"{row.id:4}  {row.url}  {state}")
    return 0


def _webhook_disable(args: argparse.Namespace) -> int:
    webhooks.disable_webhook(_db(args), _me(), args.id, _now_ms())
    print(f"webhook {args.id} disabled")
    return 0


def _webhook_outbox(args: argparse.Namespace) -> int:
    db = _db(args)
    with db.read() as tx:
        rows = CaseTx(tx).outbox(pending_only=args.pending, limit=200)
    for row in rows:
        state = (f"sent {_iso(row.delivered_at)}" if row.delivered_at
                 else f"next {_iso(row.next_at)}")
        print(f"{row.event_id}  webhook {row.webhook_id}  tries {row.attempts}  {state}  "
              f"{row.last_error or ''}".rstrip())
    return 0


def _webhook_retry(args: argparse.Namespace) -> int:
    print(f"{webhooks.retry_parked(_db(args), _now_ms())} alert(s) due now")
    return 0


def _webhook_deliver(args: argparse.Namespace) -> int:
    db, rng, stop = _db(args), random.Random(), threading.Event()
    while True:
        scan(db, _now_ms())
        done = webhooks.deliver_due(db, webhook_post.post, _now_ms(), rng)
        if done.delivered or done.failed:
            logger.info("webhooks: %d delivered, %d failed, %d given up", *done.__dict__.values())
        if not args.loop:
            print(f"{done.delivered} delivered, {done.failed} failed, {done.gave_up} given up")
            return 0
        stop.wait(args.interval)
