"""The fleet view: every unit's health at a glance, filtered, searched and paged.

Cheap facts (registered, revoked, last receipt, newest seq) come from one grouped query for the
whole fleet, so filtering and paging need no record decoded; the facts that live inside records
(versions, last fix, battery) are read from each shown unit's newest ``SCAN`` records only.
Records in the table were verified at ingest; here they are only decoded.

"Upload lag" is how old the newest record was when it arrived: a unit draining a backlog after a
time offline shows a large one. The unit does not report how many records it still holds.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from fieldcheck_protocol.record import Kind, Record, RecordError, to_ms
from fieldcheck_protocol.signature import unverified_record
from fieldcheck_server.db import fleet as fleet_db
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.fleet import Activity
from fieldcheck_server.db.tx import DeviceRow

logger = logging.getLogger(__name__)

#: How many of a shown unit's newest records are decoded for its versions, fix and battery.
SCAN = 50
#: A unit that sent nothing for this long is "silent".
SILENT_MS = 24 * 3_600_000
PAGE_SIZE = 50


class Health(StrEnum):
    """One word for a unit's state, worst first."""

    RETIRED = "retired"
    REVOKED = "revoked"
    NEVER_SEEN = "never_seen"
    SILENT = "silent"
    BATTERY = "battery"
    NO_FIX = "no_fix"
    OK = "ok"


class StateFilter(StrEnum):
    """Which units a fleet query keeps."""

    ALL = "all"
    ACTIVE = "active"
    #: Revoked or retired (decommissioned): units whose key is refused.
    REVOKED = "revoked"
    SILENT = "silent"


@dataclass(frozen=True)
class Unit:
    """One line of the fleet view."""

    device_id: str
    label: str
    registered_at: int
    revoked_at: int | None
    retired_at: int | None
    last_seen: int | None
    head_seq: int | None
    records: int
    upload_lag_ms: int | None
    fix_age_s: float | None
    battery: str | None
    battery_percent: float | None
    firmware_version: str | None
    model_version: str | None
    health: Health


@dataclass(frozen=True)
class FleetPage:
    """One page of a fleet query and how many units matched it."""

    units: list[Unit]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class _Inside:
    """Facts read from a unit's newest records."""

    upload_lag_ms: int | None = None
    fix_age_s: float | None = None
    battery: str | None = None
    battery_percent: float | None = None
    firmware_version: str | None = None
    model_version: str | None = None


def query(
    db: Database, now_ms: int, search: str = "", state: StateFilter = StateFilter.ALL,
    page: int = 1, page_size: int = PAGE_SIZE,
) -> FleetPage:
    """Units whose id or label contains ``search`` (case-insensitive) in ``state``, by id."""
    needle = search.strip().lower()
    with db.read() as tx:  # one transaction: the counts and the rows shown agree
        seen = fleet_db.activity(tx)
        kept = [
            d for d in tx.devices()
            if (needle in d.device_id.lower() or needle in d.label.lower())
            and _in_state(d, seen.get(d.device_id), state, now_ms)
        ]
        pages = max(1, -(-len(kept) // page_size))
        page = min(max(1, page), pages)
        shown = kept[(page - 1) * page_size : page * page_size]
        newest = {d.device_id: fleet_db.newest_records(tx, d.device_id, SCAN) for d in shown}
    units = [
        _unit(d, seen.get(d.device_id), _inside(newest[d.device_id], now_ms), now_ms)
        for d in shown
    ]
    return FleetPage(units, len(kept), page, pages)


def _silent(activity: Activity | None, now_ms: int) -> bool:
    return activity is not None and now_ms - activity.last_received > SILENT_MS


def _in_state(
    device: DeviceRow, activity: Activity | None, state: StateFilter, now_ms: int
) -> bool:
    revoked = device.revoked_at is not None or device.retired_at is not None
    if state is StateFilter.ACTIVE:
        return not revoked
    if state is StateFilter.REVOKED:
        return revoked
    if state is StateFilter.SILENT:
        return not revoked and (activity is None or _silent(activity, now_ms))
    return True


def _decoded(newest: Sequence[tuple[int, bytes, int]]) -> list[tuple[Record, int]]:
    decoded = []
    for seq, cose, received_at in newest:
        try:
            decoded.append((unverified_record(cose), received_at))
        except RecordError as err:  # verified at ingest: only a changed database gets here
            logger.warning("stored record %d does not decode: %s", seq, err)
    return decoded


def _inside(newest: Sequence[tuple[int, bytes, int]], now_ms: int) -> _Inside:
    decoded = _decoded(newest)
    if not decoded:
        return _Inside()
    head, received = decoded[0]
    fix_age_s = None
    for record, _ in decoded:
        if record.fix is not None:
            fix_age_s = max(0.0, (now_ms - to_ms(record.fix.gps_time)) / 1000)
            break
    battery, percent = None, None
    for record, _ in decoded:
        if record.kind is Kind.EVENT and record.body.get("type") == "battery":
            details = record.body.get("details") or {}
            battery, percent = str(details.get("level", "")) or None, details.get("percent")
            break
    return _Inside(
        upload_lag_ms=max(0, received - to_ms(head.device_time)),
        fix_age_s=fix_age_s,
        battery=battery,
        battery_percent=float(percent) if isinstance(percent, int | float) else None,
        firmware_version=head.firmware_version,
        model_version=head.model_version,
    )


def _unit(device: DeviceRow, activity: Activity | None, inside: _Inside, now_ms: int) -> Unit:
    return Unit(
        device_id=device.device_id,
        label=device.label,
        registered_at=device.registered_at,
        revoked_at=device.revoked_at,
        retired_at=device.retired_at,
        last_seen=activity.last_received if activity else None,
        head_seq=activity.head_seq if activity else None,
        records=activity.count if activity else 0,
        upload_lag_ms=inside.upload_lag_ms,
        fix_age_s=inside.fix_age_s,
        battery=inside.battery,
        battery_percent=inside.battery_percent,
        firmware_version=inside.firmware_version,
        model_version=inside.model_version,
        health=_health(device, activity, inside, now_ms),
    )


def _health(device: DeviceRow, activity: Activity | None, inside: _Inside, now_ms: int) -> Health:
    if device.retired_at is not None:
        return Health.RETIRED
    if device.revoked_at is not None:
        return Health.REVOKED
    if activity is None:
        return Health.NEVER_SEEN
    if _silent(activity, now_ms):
        return Health.SILENT
    if inside.battery in ("low", "critical"):
        return Health.BATTERY
    if inside.fix_age_s is None or inside.fix_age_s > SILENT_MS / 1000:
        return Health.NO_FIX
    return Health.OK
