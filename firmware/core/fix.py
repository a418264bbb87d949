"""The Fix (one epoch's position report), the receiver state and the fix lost/regained events."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypedDict


class FixType(Enum):
    """Dimension of the position solution."""

    NONE = "none"
    TWO_D = "2d"
    THREE_D = "3d"


class DateSource(Enum):
    """Where a fix's UTC date came from (its time of day always comes from the receiver)."""

    GPS = "gps"  # an RMC or ZDA sentence of the same epoch
    CARRIED = "carried"  # the last GPS date, rolled over when the time of day wrapped at midnight
    SYSTEM_CLOCK = "system_clock"  # the system clock, while the kernel says it is synchronised
    BACKFILL = "backfill"  # a later RMC/ZDA of the same log (offline inspection only)


class GpsState(Enum):
    """What the receiver currently delivers, after hysteresis."""

    NO_DATA = "no_data"  # no valid sentence for the silence timeout
    NO_FIX = "no_fix"  # sentences arrive but carry no valid position
    FIX_2D = "2d"
    FIX_3D = "3d"

    @property
    def has_fix(self) -> bool:
        """True for the 2D and 3D states."""
        return self in (GpsState.FIX_2D, GpsState.FIX_3D)


class EventKind(Enum):
    """Why a :class:`GpsEvent` was raised."""

    FIX_ACQUIRED = "fix_acquired"  # first fix since start
    FIX_LOST = "fix_lost"
    FIX_REGAINED = "fix_regained"
    STATE_CHANGED = "state_changed"  # any other change, e.g. 2D -> 3D or no_fix -> no_data


@dataclass(frozen=True)
class Fix:
    """Everything one epoch (one UTC time of day) reported, merged from all its sentences.

    ``valid`` is the receiver's own verdict (RMC/GLL status, GGA quality, 4.1 nav status).
    ``flags`` are the plausibility filters' reasons against it (empty: plausible); a flagged fix
    is still reported so tools can show it, but :attr:`usable` is False.
    """

    utc: datetime | None  # date and time, timezone-aware UTC; None while no date is trustworthy
    time_key: int | None  # milliseconds since midnight UTC, the epoch identity
    latitude: float | None
    longitude: float | None
    altitude_m: float | None
    quality: int | None  # GGA quality: 0 none, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 DR
    fix_type: FixType
    valid: bool
    hdop: float | None
    pdop: float | None
    vdop: float | None
    satellites_used: int | None
    used_by_system: dict[str, int] = field(default_factory=dict)
    in_view_by_system: dict[str, int] = field(default_factory=dict)
    speed_mps: float | None = None
    course_deg: float | None = None
    talkers: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()
    leap_second: bool = False
    received_mono: float = 0.0  # monotonic clock when the epoch's first sentence arrived
    clock_offset_s: float | None = None  # GPS UTC minus system clock, at the epoch's arrival
    flags: tuple[str, ...] = ()
    date_source: DateSource | None = None  # None while ``utc`` is None

    @classmethod
    def of(cls, fields: "FixFields") -> "Fix":
        """The Fix of every field at once, as the tracker builds one each epoch.

        The same object as ``Fix(**fields)``, without the generated ``__init__``'s
        ``object.__setattr__`` per field (23 of them, several microseconds a fix).
        """
        fix = object.__new__(cls)
        fix.__dict__.update(fields)
        return fix

    def with_flags(self, flags: tuple[str, ...]) -> "Fix":
        """This fix with the plausibility filters' ``flags`` (``dataclasses.replace``, faster)."""
        fix = object.__new__(type(self))
        fix.__dict__.update(self.__dict__)
        fix.__dict__["flags"] = flags
        return fix

    @property
    def has_position(self) -> bool:
        """Whether latitude and longitude are both known."""
        return self.latitude is not None and self.longitude is not None

    @property
    def usable(self) -> bool:
        """Valid, has a position and no plausibility flag: fit for a record."""
        return self.valid and self.has_position and not self.flags

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (for the inspect tool and records); floats rounded to sensible units."""
        return {
            "utc": self.utc.isoformat() if self.utc else None,
            "date_source": self.date_source.value if self.date_source else None,
            "lat": _round(self.latitude, 7),
            "lon": _round(self.longitude, 7),
            "alt_m": _round(self.altitude_m, 2),
            "quality": self.quality,
            "fix": self.fix_type.value,
            "valid": self.valid,
            "hdop": self.hdop,
            "pdop": self.pdop,
            "vdop": self.vdop,
            "sats_used": self.satellites_used,
            "used_by_system": dict(sorted(self.used_by_system.items())),
            "in_view_by_system": dict(sorted(self.in_view_by_system.items())),
            "speed_mps": _round(self.speed_mps, 3),
            "course_deg": self.course_deg,
            "talkers": list(self.talkers),
            "sentences": list(self.sentences),
            "leap_second": self.leap_second,
            "flags": list(self.flags),
        }


class FixFields(TypedDict):
    """Every field of a :class:`Fix`, by name: what :meth:`Fix.of` takes (typed like the Fix)."""

    utc: datetime | None
    time_key: int | None
    latitude: float | None
    longitude: float | None
    altitude_m: float | None
    quality: int | None
    fix_type: FixType
    valid: bool
    hdop: float | None
    pdop: float | None
    vdop: float | None
    satellites_used: int | None
    used_by_system: dict[str, int]
    in_view_by_system: dict[str, int]
    speed_mps: float | None
    course_deg: float | None
    talkers: tuple[str, ...]
    sentences: tuple[str, ...]
    leap_second: bool
    received_mono: float
    clock_offset_s: float | None
    flags: tuple[str, ...]
    date_source: DateSource | None


@dataclass(frozen=True)
class GpsEvent:
    """A change of :class:`GpsState` after hysteresis."""

    kind: EventKind
    previous: GpsState
    current: GpsState
    at_mono: float
    fix: Fix | None = None  # the epoch that confirmed the new state, if any


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
