"""Typing of NMEA 0183 data fields (after the checksum was verified) into observations.

Pure functions ``(talker, fields) -> Observation``; they raise ``ValueError`` on a field that
is present but malformed, :class:`FieldError` (a ``ValueError`` with a reason) on a number that
is not finite or out of its plausible range, and map empty fields to ``None``. Observations are
built positionally, in field order: fields are typed, and the first bad one named, in order.
Every value is range-checked here, where it is parsed, so nothing downstream (fix, record)
meets ``nan``, ``inf`` or a year 99999. Field positions follow NMEA 0183 2.3 and 4.10; the
4.10 extras (RMC nav status, GSA system id, GSV signal id) are optional.

The parsers of times, dates, positions and satellite numbers keep their last results (values
are immutable, the functions pure): an epoch repeats its time, date and position in several
sentences and the same satellites every second, so most fields are typed once, not per sentence.
A refused field raises every time (exceptions are not cached).
"""

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from firmware.core.observation import (
    CONSTELLATIONS,
    SYSTEM_IDS,
    Gga,
    Gll,
    Gns,
    Gsa,
    Gsv,
    Position,
    Rmc,
    UtcTime,
    Vtg,
    Zda,
)

# RMC/GLL/VTG mode letters that mean "no usable position" (N: not valid, E: dead reckoning
# estimate, M: manual input, S: simulator).
_INVALID_MODES = frozenset("NEMS")


class FieldError(ValueError):
    """A field that is a number, but not a finite one in its range; ``reason`` names the field."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name} {text[:20]!r} is not finite or out of range")
        self.reason = f"bad_{name}"


@dataclass(frozen=True)
class Range:
    """The plausible values of one field, inclusive."""

    name: str
    low: float
    high: float


ALTITUDE = Range("altitude", -1500.0, 50_000.0)  # Dead Sea shore to a high-altitude balloon
GEOID = Range("geoid", -150.0, 150.0)  # the geoid is within about 110 m of the ellipsoid
DOP = Range("hdop", 0.0, 100.0)  # receivers send 99.99 for "no solution"
SATELLITES = Range("satellites", 0, 255)  # the record schema's limit
QUALITY = Range("quality", 0, 9)
FIX_MODE = Range("fix_mode", 1, 3)
SPEED_KNOTS = Range("speed", 0.0, 2000.0)
SPEED_KMH = Range("speed", 0.0, 3704.0)
COURSE = Range("course", 0.0, 360.0)
PRN = Range("prn", 0, 999)
SYSTEM_ID = Range("system_id", 0, 15)
YEAR = Range("date", 1980, 2099)  # GPS time began in 1980


def opt_float(text: str, bounds: Range | None = None) -> float | None:
    """An empty field is None; anything else must be a finite number (within ``bounds``)."""
    if not text or text.isspace():
        return None
    if "_" in text:  # Python reads "1_0" as 10; a receiver never sends it
        raise ValueError(f"bad number {text[:20]!r}")
    value = float(text)
    if bounds is None:
        if not math.isfinite(value):
            raise FieldError("number", text)
    elif not bounds.low <= value <= bounds.high:  # nan and the infinities fail it too
        raise FieldError(bounds.name, text)
    return value


def opt_int(text: str, bounds: Range | None = None) -> int | None:
    """An empty field is None; anything else must be a whole number (within ``bounds``)."""
    if text.isascii() and text.isdigit() and len(text) <= 12:
        # The common field, plain ASCII digits: the same value and checks as the general path.
        value = int(text)
        if bounds is not None and not bounds.low <= value <= bounds.high:
            raise FieldError(bounds.name, text)
        return value
    return _opt_int_general(text, bounds)


def _opt_int_general(text: str, bounds: Range | None) -> int | None:
    """opt_int for empty, signed, padded or malformed fields."""
    if not text.strip():
        return None
    digits = text.strip()
    if not digits.lstrip("+-").isdigit():
        raise ValueError(f"bad whole number {text[:20]!r}")
    if len(digits) > 12:
        raise FieldError(bounds.name if bounds else "number", text)
    value = int(digits)
    if bounds is not None and not bounds.low <= value <= bounds.high:
        raise FieldError(bounds.name, text)
    return value


@lru_cache(maxsize=64)
def utc_time(text: str) -> UtcTime | None:
    """``hhmmss[.sss]`` -> UtcTime; second 60 (leap second) is allowed, 61 is not."""
    if not text:
        return None
    if len(text) < 6 or not text[:6].isdigit():
        raise ValueError(f"bad time {text!r}")
    whole = int(text[:6])  # one conversion: hhmmss as a number
    hour, minute, second = whole // 10000, whole // 100 % 100, whole % 100
    micro = 0
    if len(text) > 6:
        if text[6] != "." or not text[7:].isdigit():
            raise ValueError(f"bad time {text!r}")
        micro = int((text[7:] + "000000")[:6])
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"time out of range {text!r}")
    return UtcTime.of(hour, minute, second, micro)


@lru_cache(maxsize=16)
def ddmmyy(text: str) -> date | None:
    """RMC date ``ddmmyy``; two-digit years are 1980-2079 (GPS started in 1980)."""
    if not text:
        return None
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"bad date {text!r}")
    year = int(text[4:6])
    year += 1900 if year >= 80 else 2000
    try:
        return date(year, int(text[2:4]), int(text[0:2]))
    except ValueError as err:
        raise FieldError("date", text) from err


def coordinate(value: str, hemisphere: str, max_degrees: int) -> float | None:
    """``(d)ddmm.mmmm`` plus N/S/E/W -> signed degrees; empty fields mean no position (not 0.0)."""
    if not value or not hemisphere:
        return None
    point = value.find(".")
    whole = point if point >= 0 else len(value)
    if whole < 3:
        raise ValueError(f"bad coordinate {value!r}")
    name = "latitude" if max_degrees == 90 else "longitude"
    head = value[: whole - 2]
    if not head.isdigit():
        raise FieldError(name, value)
    degrees = int(head)
    minutes = float(value[whole - 2 :])
    if not 0.0 <= minutes < 60.0 or degrees > max_degrees:
        raise FieldError(name, value)
    result = degrees + minutes / 60.0
    if result > max_degrees:
        raise FieldError(name, value)
    if hemisphere in ("S", "W"):
        return -result
    if hemisphere in ("N", "E"):
        return result
    raise ValueError(f"bad hemisphere {hemisphere!r}")


def position(fields: list[str], at: int) -> Position | None:
    """Latitude/longitude from the four fields starting at ``at``; None unless both present."""
    if len(fields) >= at + 4:
        return _position(fields[at], fields[at + 1], fields[at + 2], fields[at + 3])
    # Too few fields: judged as before (a bad latitude is named before the missing longitude).
    latitude = coordinate(fields[at], fields[at + 1], 90)
    longitude = coordinate(fields[at + 2], fields[at + 3], 180)
    return None if latitude is None or longitude is None else Position(latitude, longitude)


@lru_cache(maxsize=64)
def _position(lat: str, north: str, lon: str, east: str) -> Position | None:
    latitude = coordinate(lat, north, 90)
    longitude = coordinate(lon, east, 180)
    if latitude is None or longitude is None:
        return None
    return Position.of(latitude, longitude)


def _field(fields: list[str], index: int) -> str:
    """Trailing fields are optional (older NMEA versions): missing reads as empty."""
    return fields[index] if index < len(fields) else ""


def gga(talker: str, fields: list[str]) -> Gga:
    """GGA,time,lat,N,lon,E,quality,sats,hdop,alt,M,geoid,M,age,station."""
    n = len(fields)  # the optional trailing fields, inline (not a call per field)
    altitude, geoid = fields[8] if n > 8 else "", fields[10] if n > 10 else ""
    return Gga(
        talker,
        utc_time(fields[0]),
        position(fields, 1),
        opt_int(fields[5], QUALITY),
        opt_int(fields[6], SATELLITES),
        opt_float(fields[7], DOP),
        opt_float(altitude, ALTITUDE),
        opt_float(geoid, GEOID),  # geoid separation
    )


def rmc(talker: str, fields: list[str]) -> Rmc:
    """RMC,time,status,lat,N,lon,E,knots,course,date,magvar,E[,mode[,navstatus]]."""
    n = len(fields)
    mode = (fields[11] if n > 11 else "") or None
    nav_status = (fields[12] if n > 12 else "") or None
    # Validity is judged here, not by pynmea2 (its issue #162): status A and a 2.3 mode letter
    # that is not N/E/M/S. The 4.10 nav status is kept but not used: u-blox and others always
    # send V there, meaning "equipment does not provide a navigational status", not "invalid".
    valid = fields[1] == "A" and (mode is None or mode not in _INVALID_MODES)
    return Rmc(
        talker,
        utc_time(fields[0]),
        valid,
        position(fields, 2),
        opt_float(fields[6], SPEED_KNOTS),
        opt_float(fields[7], COURSE),
        ddmmyy(fields[8]),
        mode,
        nav_status,
    )


def gsa(talker: str, fields: list[str]) -> Gsa:
    """GSA,mode,fix,prn x12,pdop,hdop,vdop[,system id (4.10)]."""
    prns = tuple([_prn(f) for f in fields[2:14] if f.strip()])
    n = len(fields)
    system_id = opt_int(fields[17] if n > 17 else "", SYSTEM_ID)
    system = SYSTEM_IDS.get(system_id, "other") if system_id is not None else None
    if system is None and talker != "GN":
        system = CONSTELLATIONS.get(talker)
    return Gsa(
        talker,
        opt_int(fields[1], FIX_MODE),
        prns,
        opt_float(fields[14] if n > 14 else "", DOP),  # pdop
        opt_float(fields[15] if n > 15 else "", DOP),  # hdop
        opt_float(fields[16] if n > 16 else "", DOP),  # vdop
        system,
    )


def gsv(talker: str, fields: list[str]) -> Gsv:
    """GSV,pages,page,in view,(prn,elev,azim,snr) x1..4[,signal id (4.10)].

    The 4.10 signal id is the odd field left after the groups of four (pynmea2 reads it as a
    satellite number).
    """
    body = fields[3:]
    signal_id = body[-1] if len(body) % 4 == 1 else None
    groups = len(body) // 4
    prns = tuple([_prn(prn) for prn in body[0 : groups * 4 : 4] if prn.strip()])
    return Gsv(
        talker,
        opt_int(fields[2], SATELLITES),  # in view
        prns,
        signal_id or None,
        opt_int(fields[1], SATELLITES),  # page
        opt_int(fields[0], SATELLITES),  # pages
    )


@lru_cache(maxsize=1024)
def _prn(text: str) -> int:
    value = opt_int(text, PRN)
    if value is None:
        raise ValueError("empty satellite number")
    return value


def vtg(talker: str, fields: list[str]) -> Vtg:
    """VTG,course,T,course,M,knots,N,kmh,K[,mode]; also the NMEA 2.0 form without unit letters."""
    if len(fields) >= 8 and fields[1] in ("T", ""):
        course, kmh, mode = fields[0], fields[6], _field(fields, 8)
    else:
        course, kmh, mode = fields[0], _field(fields, 3), ""
    return Vtg(talker, opt_float(course, COURSE), opt_float(kmh, SPEED_KMH), mode or None)


def zda(talker: str, fields: list[str]) -> Zda:
    """ZDA,time,day,month,year,tz hours,tz minutes."""
    day, month, year = fields[1], fields[2], fields[3]
    when = None
    if day and month and year:
        try:
            when = date(opt_int(year, YEAR) or 0, int(month[:3]), int(day[:3]))
        except ValueError as err:
            raise FieldError("date", f"{day},{month},{year}") from err
    return Zda(talker, utc_time(fields[0]), when)


def gll(talker: str, fields: list[str]) -> Gll:
    """GLL,lat,N,lon,E,time,status[,mode]."""
    mode = _field(fields, 6)
    valid = _field(fields, 5) == "A" and mode not in _INVALID_MODES
    return Gll(talker, utc_time(_field(fields, 4)), valid, position(fields, 0))


def gns(talker: str, fields: list[str]) -> Gns:
    """GNS,time,lat,N,lon,E,mode letters,sats,hdop,alt,geoid,age,station[,nav status]."""
    return Gns(
        talker,
        utc_time(fields[0]),
        position(fields, 1),
        fields[5] or None,  # mode letters
        opt_int(fields[6], SATELLITES),
        opt_float(fields[7], DOP),
        opt_float(_field(fields, 8), ALTITUDE),
    )
