"""``fieldcheck-device status [--json]``: what the unit knows, from its store and config.

Read from the signed records (the daemon need not run): GPS state and fix age, the last
check-in and its receipt, the next window, records not yet acknowledged, battery, firmware and
model versions, upload state, and whether a face is enrolled. No coordinates are printed.
"""

import argparse
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fieldcheck_protocol.record import Kind, Record
from fieldcheck_protocol.signature import unverified_record
from firmware import config
from firmware.cli.identity import add_data_dir_arguments, wiring_of
from firmware.services.schedule import CheckinSettings, Schedule
from firmware.store.base import StoreStatus
from firmware.version import FIRMWARE_VERSION

#: How many of the newest records the status reads (a unit keeps far more; these suffice).
RECENT = 500
GPS_EVENTS = {"fix_lost": "lost", "fix_regained": "fix"}


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``status`` command."""
    parser = sub.add_parser("status", help="GPS, last check-in and receipt, next window, "
                            "upload, battery, versions, enrolment")
    add_data_dir_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(func=_status)


@dataclass(frozen=True)
class Facts:
    """What the status is computed from (gathered by :func:`_status`, given by tests)."""

    now: datetime
    store: StoreStatus
    records: Sequence[Record]
    settings: CheckinSettings | None
    enrolled: bool
    syncing: bool


def status(facts: Facts) -> dict[str, Any]:
    """The status fields, JSON-friendly; None for what the records do not tell."""
    newest = list(reversed(facts.records))
    fixed = next((r for r in newest if r.fix is not None), None)
    gps_event = next((r for r in newest if r.kind is Kind.EVENT
                      and r.body.get("type") in GPS_EVENTS), None)
    checkin = next((r for r in newest if r.kind is Kind.CHECKIN), None)
    battery = next((r for r in newest if r.kind is Kind.EVENT
                    and r.body.get("type") == "battery"), None)
    latest = newest[0] if newest else None
    return {
        "device_id": facts.store.device_id,
        "gps": _gps(facts.now, fixed, gps_event),
        "last_checkin": None if checkin is None else {
            "receipt": checkin.seq, "time": checkin.device_time.isoformat(),
            "verdict": checkin.body.get("verdict"), "trigger": checkin.body.get("trigger"),
            "guidance": checkin.body.get("guidance")},
        "next_window": _next_window(facts.now, facts.settings),
        "unacknowledged": facts.store.pending,
        "upload": {"server": facts.syncing, "acked_seq": facts.store.acked_seq,
                   "next_seq": facts.store.next_seq, "storage_low": facts.store.storage_low},
        "battery": None if battery is None else {
            "level": _details(battery).get("level"), "percent": _details(battery).get("percent"),
            "time": battery.device_time.isoformat()},
        "firmware": FIRMWARE_VERSION,
        "recorded_firmware": None if latest is None else latest.firmware_version,
        "model": None if latest is None else _model(newest),
        "enrolled": facts.enrolled,
    }


def _details(record: Record) -> Mapping[str, Any]:
    details = record.body.get("details")
    return details if isinstance(details, Mapping) else record.body


def _gps(now: datetime, fixed: Record | None, event: Record | None) -> dict[str, Any]:
    state = "unknown" if event is None else GPS_EVENTS[str(event.body["type"])]
    if fixed is None or fixed.fix is None:
        return {"state": state, "fix_age_s": None, "mode": None}
    if event is None or fixed.seq > event.seq:
        state = "fix"
    age = (now - fixed.fix.gps_time).total_seconds()
    return {"state": state, "fix_age_s": round(age, 1), "mode": fixed.fix.mode,
            "fix_time": fixed.fix.gps_time.isoformat()}


def _model(newest: Sequence[Record]) -> str | None:
    return next((r.model_version for r in newest if r.kind is Kind.CHECKIN), None)


def _next_window(now: datetime, settings: CheckinSettings | None) -> dict[str, Any] | None:
    if settings is None or settings.mode == "off":
        return None
    if settings.mode == "windows":  # the daemon draws the moment; only the day is known here
        return {"mode": "windows", "per_day": settings.per_day,
                "between": f"{settings.day_start}-{settings.day_end} {settings.timezone}"}
    upcoming = [s for s in Schedule(settings, random.Random(0)).slots_around(now)
                if s.closes > now]
    if not upcoming:
        return None
    slot = upcoming[0]
    return {"mode": "times", "due": slot.due.isoformat(), "opens": slot.opens.isoformat(),
            "closes": slot.closes.isoformat(), "open_now": slot.contains(now)}


def table(fields: Mapping[str, Any]) -> list[str]:
    """The status as aligned ``name  value`` rows."""
    gps, last, window = fields["gps"], fields["last_checkin"], fields["next_window"]
    age = "no fix recorded" if gps["fix_age_s"] is None else (
        f"{gps['mode']} fix {gps['fix_age_s']:.0f} s old")
    rows = [
        ("device", fields["device_id"]),
        ("gps", f"{gps['state']}, {age}"),
        ("last check-in", "none" if last is None else
         f"receipt {last['receipt']} at {last['time']}: {last['verdict']} ({last['trigger']})"),
        ("next window", _window_text(window)),
        ("unacknowledged", f"{fields['unacknowledged']} record(s)"),
        ("upload", ("server configured" if fields["upload"]["server"] else "no server")
         + f", acknowledged up to seq {fields['upload']['acked_seq']}"),
        ("battery", "not reported" if fields["battery"] is None else
         f"{fields['battery']['level']} {fields['battery']['percent']}%"),
        ("firmware", fields["firmware"]),
        ("model", fields["model"] or "no check-in recorded yet"),
        ("enrolled", "yes" if fields["enrolled"] else "no: enrol the wearer"),
    ]
    return [f"{name:<15} {value}" for name, value in rows]


def _window_text(window: Mapping[str, Any] | None) -> str:
    if window is None:
        return "none scheduled (button and manual check-ins only)"
    if window["mode"] == "windows":
        return f"random, {window['per_day']} a day between {window['between']}"
    state = "open now" if window["open_now"] else f"opens {window['opens']}"
    return f"due {window['due']} ({state}, closes {window['closes']})"


def _status(args: argparse.Namespace) -> int:
    wiring = wiring_of(args)
    validation = config.validate(config.chosen_path(args.config))
    settings = validation.built.get("checkin")
    store = wiring_of(args).existing_store()
    try:
        counters = store.status()
        rows = store.records(after=max(-1, counters.next_seq - RECENT - 1), limit=RECENT)
    finally:
        store.stop()
    enrolled = False
    if isinstance(settings, CheckinSettings):
        enrolled = (wiring.data_dir / settings.template_file).is_file()
    facts = Facts(now=datetime.now(UTC), store=counters,
                  records=[unverified_record(row.cose) for row in rows],
                  settings=settings if isinstance(settings, CheckinSettings) else None,
                  enrolled=enrolled, syncing=wiring.syncing)
    fields = status(facts)
    print(json.dumps(fields) if args.json else "\n".join(table(fields)))
    return 0
