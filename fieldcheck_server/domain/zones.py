"""Inclusion and exclusion zones of a person, with the local hours each holds.

A zone is a circle (centre and radius in metres) or a polygon of at least three lat/lon points.
An *inclusion* zone says where the person must be during its hours (a home curfew), an
*exclusion* zone where they must not be. A fix that breaks one is never a finding by itself: it
goes to the review queue with its evidence (the fix, its accuracy, the zone) for a person to
decide on; GPS drifts, and a reviewer knows the case.
"""

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fieldcheck_protocol.record import FixSummary
from fieldcheck_server.db.casework import CaseTx, ZoneRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import CaseNotFound, CaseworkError

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_000.0
MAX_RADIUS_M = 100_000.0
MAX_POINTS = 500


class Rule(StrEnum):
    """What a zone demands during its hours."""

    INCLUSION = "inclusion"  # be inside
    EXCLUSION = "exclusion"  # stay outside


@dataclass(frozen=True)
class Hours:
    """Local hours a zone holds: ``start`` until ``end`` (across midnight when end <= start);
    None for both means always."""

    start: time | None
    end: time | None

    def holds(self, local: time) -> bool:
        """Whether the zone holds at local time ``local``."""
        if self.start is None or self.end is None:
            return True
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Zone:
    """A zone ready to test fixes against."""

    row: ZoneRow
    rule: Rule
    hours: Hours
    zone: ZoneInfo
    circle: tuple[float, float, float] | None  # lat, lon, radius_m
    polygon: tuple[tuple[float, float], ...]

    def contains(self, lat: float, lon: float) -> bool:
        """Whether a point is inside the area."""
        if self.circle is not None:
            clat, clon, radius = self.circle
            return distance_m(lat, lon, clat, clon) <= radius
        return _in_polygon(lat, lon, self.polygon)

    def broken_by(self, fix: FixSummary, when: datetime) -> str | None:
        """Why a fix at ``when`` breaks this zone, or None."""
        if not self.hours.holds(when.astimezone(self.zone).time()):
            return None
        inside = self.contains(fix.lat, fix.lon)
        if self.rule is Rule.INCLUSION and not inside:
            return f"outside inclusion zone {self.row.name!r} during its hours"
        if self.rule is Rule.EXCLUSION and inside:
            return f"inside exclusion zone {self.row.name!r} during its hours"
        return None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _in_polygon(lat: float, lon: float, points: Sequence[tuple[float, float]]) -> bool:
    """Ray casting on lat/lon (planar: fine for areas of a few kilometres)."""
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(points, [*points[1:], points[0]], strict=True):
        if (lon1 > lon) != (lon2 > lon):
            cross = lat1 + (lon - lon1) * (lat2 - lat1) / (lon2 - lon1)
            if lat < cross:
                inside = not inside
    return inside


def parse_hours(text: str) -> Hours:
    """``HH:MM-HH:MM`` local hours, or empty for always."""
    if not text.strip():
        return Hours(None, None)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise CaseworkError(f"hours {text!r}: write them as HH:MM-HH:MM (e.g. 21:00-07:00), "
                            "or leave them empty for always") from None
    if start == end:
        raise CaseworkError(f"hours {text!r} start and end at the same time; leave them empty "
                            "for always")
    return Hours(start, end)


def _point(value: Any, where: str) -> tuple[float, float]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise CaseworkError(f"{where} must be [lat, lon]")
    lat, lon = float(value[0]), float(value[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CaseworkError(f"{where} [{lat}, {lon}] is not on Earth: lat -90..90, lon -180..180")
    return lat, lon


def parse_geometry(text: str) -> tuple[tuple[float, float, float] | None,
                                       tuple[tuple[float, float], ...]]:
    """``{"circle": [lat, lon], "radius_m": R}`` or ``{"polygon": [[lat, lon], ...]}``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict) and "circle" in value:
        lat, lon = _point(value["circle"], "circle")
        radius = value.get("radius_m")
        if not isinstance(radius, int | float) or not 0 < radius <= MAX_RADIUS_M:
            raise CaseworkError(f"radius_m must be a number of metres, 0 to {MAX_RADIUS_M:.0f}")
        return (lat, lon, float(radius)), ()
    if isinstance(value, dict) and isinstance(value.get("polygon"), list):
        points = tuple(_point(p, f"polygon point {i}") for i, p in enumerate(value["polygon"]))
        if not 3 <= len(points) <= MAX_POINTS:
            raise CaseworkError(f"a polygon has 3 to {MAX_POINTS} points")
        return None, points
    raise CaseworkError('a zone is {"circle": [lat, lon], "radius_m": 200} or '
                        '{"polygon": [[lat, lon], [lat, lon], [lat, lon]]}')


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CaseworkError(f"time zone {name!r} is unknown: use an IANA name such as "
                            "America/New_York") from None


def ready(row: ZoneRow) -> Zone:
    """A stored zone, parsed (it was checked when added)."""
    circle, polygon = parse_geometry(row.geometry)
    return Zone(row, Rule(row.rule), parse_hours(row.hours), _timezone(row.timezone), circle,
                polygon)


def add_zone(db: Database, who: Principal, case_number: str, name: str, rule: str,
             geometry: str, hours: str, timezone: str, now_ms: int) -> ZoneRow:
    """Add a zone to a person after checking every part of it; audited."""
    try:
        checked_rule = Rule(rule)
    except ValueError:
        raise CaseworkError(f"rule {rule!r}: use inclusion or exclusion") from None
    parse_geometry(geometry)
    parse_hours(hours)
    _timezone(timezone)
    if not name.strip():
        raise CaseworkError("a zone needs a name")
    with db.write() as tx:
        cases = CaseTx(tx)
        person = cases.person(case_number)
        if person is None:
            raise CaseNotFound(f"no person {case_number!r}: see `fieldcheck person list`")
        zone_id = cases.insert_zone({
            "person_id": person.id, "name": name.strip(), "rule": checked_rule.value,
            "geometry": geometry, "hours": hours.strip(), "timezone": timezone,
            "created_at": now_ms, "actor": who.actor})
        row = next(z for z in cases.zones(person.id) if z.id == zone_id)
        audit.record(tx, who, "zone.add", case_number, now_ms,
                     {"zone": zone_id, "name": row.name, "rule": row.rule, "hours": row.hours})
    logger.info("added %s zone %s for %s", checked_rule.value, row.name, case_number)
    return row
