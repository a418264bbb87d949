"""Routes: geodesy on a sphere, waypoint/JSON/CSV/GPX input, and walking a route at a speed."""

import csv
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG); a sphere is plenty for a walk


class RouteError(ValueError):
    """A route could not be read; the message says what to fix."""


@dataclass(frozen=True)
class Point:
    """A position in decimal degrees (WGS84) with an optional altitude in metres."""

    lat: float
    lon: float
    alt: float | None = None


def distance_m(a: Point, b: Point) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Point, b: Point) -> float:
    """Initial true bearing from ``a`` to ``b`` in degrees [0, 360)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dlmb = math.radians(b.lon - a.lon)
    y = math.sin(dlmb) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return math.degrees(math.atan2(y, x)) % 360.0


def offset(p: Point, north_m: float, east_m: float) -> Point:
    """``p`` moved by small local north/east offsets in metres (flat-earth, fine below ~10 km)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * max(1e-9, math.cos(math.radians(p.lat)))))
    lon = (p.lon + dlon + 180.0) % 360.0 - 180.0
    return Point(max(-90.0, min(90.0, p.lat + dlat)), lon, p.alt)


def destination(p: Point, bearing: float, dist_m: float) -> Point:
    """The point ``dist_m`` metres from ``p`` along the great circle at ``bearing`` degrees."""
    delta = dist_m / EARTH_RADIUS_M
    theta = math.radians(bearing)
    phi1, lmb1 = math.radians(p.lat), math.radians(p.lon)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    )
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    lon = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    return Point(math.degrees(phi2), lon, p.alt)


# A lakeside walk in Zurich (Bellevue to Zürichhorn, about 1.6 km), so no input is needed.
DEFAULT_ROUTE: tuple[Point, ...] = (
    Point(47.36665, 8.54550, 406.0),
    Point(47.36330, 8.54790, 406.0),
    Point(47.35980, 8.54960, 407.0),
    Point(47.35640, 8.55090, 407.0),
    Point(47.35400, 8.55230, 408.0),
)
DEFAULT_GEOID_SEPARATION_M = 47.4  # EGM96 undulation near Zurich


class Route:
    """A polyline walked back and forth, so a position exists for any distance travelled."""

    def __init__(self, points: Sequence[Point]) -> None:
        if len(points) < 1:
            raise RouteError("a route needs at least one point")
        self.points = tuple(points)
        self._cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            self._cumulative.append(self._cumulative[-1] + distance_m(a, b))

    @property
    def length_m(self) -> float:
        """Total length of the polyline in metres."""
        return self._cumulative[-1]

    def at(self, travelled_m: float) -> Point:
        """Position after walking ``travelled_m`` metres, turning back at each end."""
        length = self.length_m
        if length <= 0.0:
            return self.points[0]
        along = travelled_m % (2 * length)
        if along > length:
            along = 2 * length - along
        return self._interpolate(along)

    def _interpolate(self, along: float) -> Point:
        for i in range(1, len(self.points)):
            if along <= self._cumulative[i] or i == len(self.points) - 1:
                a, b = self.points[i - 1], self.points[i]
                span = self._cumulative[i] - self._cumulative[i - 1]
                frac = 0.0 if span <= 0 else min(1.0, (along - self._cumulative[i - 1]) / span)
                p = destination(a, bearing_deg(a, b), frac * span) if span > 0 else a
                return Point(p.lat, p.lon, _lerp_alt(a.alt, b.alt, frac))
        return self.points[-1]


def _lerp_alt(a: float | None, b: float | None, frac: float) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return a + (b - a) * frac


def _checked(lat: float, lon: float, where: str) -> Point:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise RouteError(f"{where}: {lat},{lon} is outside lat -90..90 / lon -180..180")
    return Point(lat, lon)


_PAIR = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_waypoints(text: str) -> tuple[Point, ...]:
    """Waypoints given on the command line as ``lat,lon;lat,lon;...`` in decimal degrees."""
    points = []
    for i, part in enumerate(p for p in text.split(";") if p.strip()):
        match = _PAIR.match(part)
        if match is None:
            raise RouteError(
                f"waypoint {i + 1} {part.strip()!r} is not 'lat,lon' in decimal degrees; "
                "write e.g. '47.3667,8.5455;47.3540,8.5523'"
            )
        points.append(_checked(float(match[1]), float(match[2]), f"waypoint {i + 1}"))
    if not points:
        raise RouteError("no waypoints given; write e.g. '47.3667,8.5455;47.3540,8.5523'")
    return tuple(points)


def load_route_file(path: Path) -> tuple[Point, ...]:
    """Read a route from a GPX, JSON (``[[lat, lon], ...]`` or objects) or CSV (lat,lon) file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RouteError(f"cannot read route file {path}: {err}") from err
    suffix = path.suffix.lower()
    if suffix == ".gpx" or text.lstrip().startswith("<"):
        points = parse_gpx(text, str(path))
    elif suffix == ".json":
        points = parse_json_route(text, str(path))
    else:
        points = parse_csv_route(text, str(path))
    if not points:
        raise RouteError(f"{path}: no points found (expected trkpt/rtept, lat/lon pairs)")
    return points


def parse_gpx(text: str, where: str = "GPX") -> tuple[Point, ...]:
    """Track points (``trkpt``), else route points (``rtept``), of a GPX 1.0/1.1 document."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise RouteError(f"{where}: not valid GPX/XML ({err})") from err
    # GPX 1.0 and 1.1 use different namespaces; match on the local tag name only.
    nodes: dict[str, list[ET.Element]] = {"trkpt": [], "rtept": []}
    for node in root.iter():
        local = node.tag.rsplit("}", 1)[-1]
        if local in nodes:
            nodes[local].append(node)
    chosen = nodes["trkpt"] or nodes["rtept"]
    points = []
    for i, node in enumerate(chosen):
        try:
            lat, lon = float(node.attrib["lat"]), float(node.attrib["lon"])
        except (KeyError, ValueError) as err:
            raise RouteError(f"{where}: point {i + 1} has no valid lat/lon attributes") from err
        ele = next((c.text for c in node if c.tag.rsplit("}", 1)[-1] == "ele"), None)
        point = _checked(lat, lon, f"{where} point {i + 1}")
        points.append(Point(point.lat, point.lon, _float_or_none(ele)))
    return tuple(points)


def _float_or_none(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def parse_json_route(text: str, where: str = "JSON") -> tuple[Point, ...]:
    """``[[lat, lon], ...]``, ``[[lat, lon, alt], ...]`` or ``[{"lat":.., "lon":..}, ...]``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RouteError(f"{where}: not valid JSON ({err})") from err
    if isinstance(data, dict):
        data = data.get("waypoints", data.get("points"))
    if not isinstance(data, list):
        raise RouteError(f"{where}: expected a list of [lat, lon] pairs or {{lat, lon}} objects")
    points = []
    for i, item in enumerate(data):
        try:
            if isinstance(item, dict):
                lat, lon, alt = item["lat"], item["lon"], item.get("alt")
            else:
                lat, lon, alt = item[0], item[1], (item[2] if len(item) > 2 else None)
            p = _checked(float(lat), float(lon), f"{where} point {i + 1}")
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise RouteError(f"{where}: point {i + 1} is not [lat, lon] or {{lat, lon}}") from err
        points.append(Point(p.lat, p.lon, None if alt is None else float(alt)))
    return tuple(points)


def parse_csv_route(text: str, where: str = "CSV") -> tuple[Point, ...]:
    """Rows of ``lat,lon[,alt]``; a header row and ``#`` comments are skipped."""
    points: list[Point] = []
    for row_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or row[0].strip().startswith("#"):
            continue
        try:
            lat, lon = float(row[0]), float(row[1])
        except (IndexError, ValueError) as err:
            if not points and row_no == 1:
                continue  # a header line such as "lat,lon"
            raise RouteError(f"{where}: line {row_no} is not 'lat,lon[,alt]'") from err
        p = _checked(lat, lon, f"{where} line {row_no}")
        alt = _float_or_none(row[2]) if len(row) > 2 else None
        points.append(Point(p.lat, p.lon, alt))
    return tuple(points)
