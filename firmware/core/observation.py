"""Typed per-sentence observations (GGA, RMC, GSA, GSV, VTG, ZDA, GLL, GNS) for the tracker.

Observations are immutable named tuples (one per sentence, so their cost counts); every
field a receiver may leave empty is ``None`` here: an empty latitude is "no position",
never 0.0. Times are kept as :class:`UtcTime` because NMEA allows the leap second ``23:59:60``,
which :class:`datetime.time` cannot hold.
"""

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

# Talker id -> constellation. "GN" means a combined (multi-constellation) solution.
CONSTELLATIONS: dict[str, str] = {
    "GP": "gps",
    "GL": "glonass",
    "GA": "galileo",
    "GB": "beidou",
    "BD": "beidou",
    "GQ": "qzss",
    "QZ": "qzss",
    "GI": "navic",
    "GN": "multi",
}

# NMEA 4.10 GSA/GSV system id -> constellation.
SYSTEM_IDS: dict[int, str] = {
    1: "gps",
    2: "glonass",
    3: "galileo",
    4: "beidou",
    5: "qzss",
    6: "navic",
}


def constellation_of_prn(prn: int) -> str:
    """Constellation of a satellite number in the NMEA 2.x/4.0 numbering (used when GN hides it)."""
    if 1 <= prn <= 32:
        return "gps"
    if 33 <= prn <= 64 or 120 <= prn <= 158:
        return "sbas"
    if 65 <= prn <= 96:
        return "glonass"
    if 193 <= prn <= 202:
        return "qzss"
    if 201 <= prn <= 264 or 401 <= prn <= 437:
        return "beidou"
    if 301 <= prn <= 336:
        return "galileo"
    return "other"


@dataclass(frozen=True, order=True)
class UtcTime:
    """A UTC time of day as sent, ``second`` may be 60 (leap second)."""

    hour: int
    minute: int
    second: int
    microsecond: int = 0

    @classmethod
    def of(cls, hour: int, minute: int, second: int, microsecond: int) -> "UtcTime":
        """``UtcTime(hour, minute, second, microsecond)``, without the generated ``__init__``'s
        ``object.__setattr__`` per field (the field parser makes one for every new time)."""
        made = object.__new__(cls)
        made.__dict__.update(hour=hour, minute=minute, second=second, microsecond=microsecond)
        return made

    @property
    def key(self) -> int:
        """Milliseconds since midnight, the epoch identity shared by one epoch's sentences."""
        return ((self.hour * 60 + self.minute) * 60 + self.second) * 1000 + self.microsecond // 1000

    @property
    def leap_second(self) -> bool:
        """True for ``23:59:60``-style times."""
        return self.second == 60


@dataclass(frozen=True)
class Position:
    """Latitude and longitude in signed decimal degrees (south and west negative)."""

    latitude: float
    longitude: float

    @classmethod
    def of(cls, latitude: float, longitude: float) -> "Position":
        """``Position(latitude, longitude)``, built as :meth:`UtcTime.of` is."""
        made = object.__new__(cls)
        made.__dict__.update(latitude=latitude, longitude=longitude)
        return made


class _ByType:
    """Equality and hash of an observation: its type and its fields, as a dataclass compares.

    The observations are named tuples (built positionally, about five times cheaper than a
    frozen dataclass, and as immutable); without this a Gsa and a Gns of equal fields would be
    equal tuples.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__eq__(self, other)  # type: ignore[operator]

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__ne__(self, other)

    def __hash__(self) -> int:
        return tuple.__hash__(self)  # type: ignore[arg-type]


class _Gga(NamedTuple):
    talker: str
    time: UtcTime | None
    position: Position | None
    quality: int | None
    satellites_used: int | None
    hdop: float | None
    altitude_m: float | None
    geoid_separation_m: float | None


class Gga(_ByType, _Gga):
    """GGA: time, position, fix quality, satellites used, HDOP, altitude."""

    __slots__ = ()


class _Rmc(NamedTuple):
    talker: str
    time: UtcTime | None
    valid: bool
    position: Position | None
    speed_knots: float | None
    course_deg: float | None
    date: date | None
    mode: str | None
    nav_status: str | None


class Rmc(_ByType, _Rmc):
    """RMC: time, validity, position, speed, course, date; NMEA 2.3 mode and 4.1 nav status."""

    __slots__ = ()


class _Gsa(NamedTuple):
    talker: str
    fix_mode: int | None  # 1 = no fix, 2 = 2D, 3 = 3D
    prns: tuple[int, ...]
    pdop: float | None
    hdop: float | None
    vdop: float | None
    system: str | None


class Gsa(_ByType, _Gsa):
    """GSA: 2D/3D mode, satellites used in the solution, dilutions; 4.1 system id."""

    __slots__ = ()


class _Gsv(NamedTuple):
    talker: str
    in_view: int | None
    prns: tuple[int, ...]
    signal_id: str | None
    page: int | None = None
    pages: int | None = None


class Gsv(_ByType, _Gsv):
    """One GSV page: satellites in view of one constellation (and signal, NMEA 4.1)."""

    __slots__ = ()


class _Vtg(NamedTuple):
    talker: str
    course_deg: float | None
    speed_kmh: float | None
    mode: str | None


class Vtg(_ByType, _Vtg):
    """VTG: course over ground and speed."""

    __slots__ = ()


class _Zda(NamedTuple):
    talker: str
    time: UtcTime | None
    date: date | None


class Zda(_ByType, _Zda):
    """ZDA: time and full date."""

    __slots__ = ()


class _Gll(NamedTuple):
    talker: str
    time: UtcTime | None
    valid: bool
    position: Position | None


class Gll(_ByType, _Gll):
    """GLL: position, time and validity (older receivers send it instead of RMC)."""

    __slots__ = ()


class _Gns(NamedTuple):
    talker: str
    time: UtcTime | None
    position: Position | None
    mode: str | None
    satellites_used: int | None
    hdop: float | None
    altitude_m: float | None


class Gns(_ByType, _Gns):
    """GNS: multi-constellation position, per-system mode letters, satellites, HDOP, altitude."""

    __slots__ = ()


Observation = Gga | Rmc | Gsa | Gsv | Vtg | Zda | Gll | Gns
#: Observation types that carry the epoch time and start a new epoch when it changes.
TIMED = (Gga, Rmc, Zda, Gll, Gns)
#: Each observation type's sentence formatter, e.g. ``Gga`` -> ``"GGA"``.
SENTENCE_TYPE: dict[type, str] = {
    kind: kind.__name__.upper() for kind in (Gga, Rmc, Gsa, Gsv, Vtg, Zda, Gll, Gns)
}
