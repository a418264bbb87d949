"""Typing of NMEA 0183 data fields (after the checksum was verified) into observations.

Pure functions ``(talker, fields) -> Observation``; they raise ``ValueError`` on a field that is
present but malformed, and map empty fields to ``None``. Field positions follow NMEA 0183 2.3
and 4.10; the 4.10 extras (RMC nav status, GSA system id, GSV signal id) are optional.
"""

from datetime import date

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


def opt_float(text: str) -> float | None:
    """An empty field is None; anything else must be a number."""
    return float(text) if text.strip() else None


def opt_int(text: str) -> int | None:
    """An empty field is None; anything else must be a whole number."""
    return int(text) if text.strip() else None


def utc_time(text: str) -> UtcTime | None:
    """``hhmmss[.sss]`` -> UtcTime; second 60 (leap second) is allowed, 61 is not."""
    if not text:
        return None
    if len(text) < 6 or not text[:6].isdigit():
        raise ValueError(f"bad time {text!r}")
    hour, minute, second = int(text[0:2]), int(text[2:4]), int(text[4:6])
    micro = 0
    if len(text) > 6:
        if text[6] != "." or not text[7:].isdigit():
            raise ValueError(f"bad time {text!r}")
        micro = int((text[7:] + "000000")[:6])
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"time out of range {text!r}")
    return UtcTime(hour, minute, second, micro)


def ddmmyy(text: str) -> date | None:
    """RMC date ``ddmmyy``; two-digit years are 1980-2079 (GPS started in 1980)."""
    if not text:
        return None
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"bad date {text!r}")
    year = int(text[4:6])
    year += 1900 if year >= 80 else 2000
    return date(year, int(text[2:4]), int(text[0:2]))


def coordinate(value: str, hemisphere: str, max_degrees: int) -> float | None:
    """``(d)ddmm.mmmm`` plus N/S/E/W -> signed degrees; empty fields mean no position (not 0.0)."""
    if not value or not hemisphere:
        return None
    point = value.find(".")
    whole = point if point >= 0 else len(value)
    if whole < 3:
        raise ValueError(f"bad coordinate {value!r}")
    degrees = int(value[: whole - 2])
    minutes = float(value[whole - 2 :])
    if minutes >= 60.0 or degrees > max_degrees:
        raise ValueError(f"coordinate out of range {value!r}")
    result = degrees + minutes / 60.0
    if result > max_degrees:
        raise ValueError(f"coordinate out of range {value!r}")
    if hemisphere in ("S", "W"):
        return -result
    if hemisphere in ("N", "E"):
        return result
    raise ValueError(f"bad hemisphere {hemisphere!r}")


def position(fields: list[str], at: int) -> Position | None:
    """Latitude/longitude from the four fields starting at ``at``; None unless both present."""
    latitude = coordinate(fields[at], fields[at + 1], 90)
    longitude = coordinate(fields[at + 2], fields[at + 3], 180)
    if latitude is None or longitude is None:
        return None
    return Position(latitude, longitude)


def _field(fields: list[str], index: int) -> str:
    """Trailing fields are optional (older NMEA versions): missing reads as empty."""
    return fields[index] if index < len(fields) else ""


def gga(talker: str, fields: list[str]) -> Gga:
    """GGA,time,lat,N,lon,E,quality,sats,hdop,alt,M,geoid,M,age,station."""
    return Gga(
        talker=talker,
        time=utc_time(fields[0]),
        position=position(fields, 1),
        quality=opt_int(fields[5]),
        satellites_used=opt_int(fields[6]),
        hdop=opt_float(fields[7]),
        altitude_m=opt_float(_field(fields, 8)),
        geoid_separation_m=opt_float(_field(fields, 10)),
    )


def rmc(talker: str, fields: list[str]) -> Rmc:
    """RMC,time,status,lat,N,lon,E,knots,course,date,magvar,E[,mode[,navstatus]]."""
    mode = _field(fields, 11) or None
    nav_status = _field(fields, 12) or None
    # Validity is judged here, not by pynmea2 (its issue #162): status A and a 2.3 mode letter
    # that is not N/E/M/S. The 4.10 nav status is kept but not used: u-blox and others always
    # send V there, meaning "equipment does not provide a navigational status", not "invalid".
    valid = fields[1] == "A" and (mode is None or mode not in _INVALID_MODES)
    return Rmc(
        talker=talker,
        time=utc_time(fields[0]),
        valid=valid,
        position=position(fields, 2),
        speed_knots=opt_float(fields[6]),
        course_deg=opt_float(fields[7]),
        date=ddmmyy(fields[8]),
        mode=mode,
        nav_status=nav_status,
    )


def gsa(talker: str, fields: list[str]) -> Gsa:
    """GSA,mode,fix,prn x12,pdop,hdop,vdop[,system id (4.10)]."""
    prns = tuple(int(f) for f in fields[2:14] if f.strip())
    system_id = opt_int(_field(fields, 17))
    system = SYSTEM_IDS.get(system_id, "other") if system_id is not None else None
    if system is None and talker != "GN":
        system = CONSTELLATIONS.get(talker)
    return Gsa(
        talker=talker,
        fix_mode=opt_int(fields[1]),
        prns=prns,
        pdop=opt_float(_field(fields, 14)),
        hdop=opt_float(_field(fields, 15)),
        vdop=opt_float(_field(fields, 16)),
        system=system,
    )


def gsv(talker: str, fields: list[str]) -> Gsv:
    """GSV,pages,page,in view,(prn,elev,azim,snr) x1..4[,signal id (4.10)].

    The 4.10 signal id is the odd field left after the groups of four (pynmea2 reads it as a
    satellite number).
    """
    body = fields[3:]
    signal_id = body[-1] if len(body) % 4 == 1 else None
    groups = len(body) // 4
    prns = tuple(int(body[i * 4]) for i in range(groups) if body[i * 4].strip())
    return Gsv(
        talker=talker,
        in_view=opt_int(fields[2]),
        prns=prns,
        signal_id=signal_id or None,
        page=opt_int(fields[1]),
        pages=opt_int(fields[0]),
    )


def vtg(talker: str, fields: list[str]) -> Vtg:
    """VTG,course,T,course,M,knots,N,kmh,K[,mode]; also the NMEA 2.0 form without unit letters."""
    if len(fields) >= 8 and fields[1] in ("T", ""):
        course, kmh, mode = fields[0], fields[6], _field(fields, 8)
    else:
        course, kmh, mode = fields[0], _field(fields, 3), ""
    return Vtg(
        talker=talker, course_deg=opt_float(course), speed_kmh=opt_float(kmh), mode=mode or None
    )


def zda(talker: str, fields: list[str]) -> Zda:
    """ZDA,time,day,month,year,tz hours,tz minutes."""
    day, month, year = fields[1], fields[2], fields[3]
    when = date(int(year), int(month), int(day)) if day and month and year else None
    return Zda(talker=talker, time=utc_time(fields[0]), date=when)


def gll(talker: str, fields: list[str]) -> Gll:
    """GLL,lat,N,lon,E,time,status[,mode]."""
    mode = _field(fields, 6)
    valid = _field(fields, 5) == "A" and mode not in _INVALID_MODES
    return Gll(
        talker=talker, time=utc_time(_field(fields, 4)), valid=valid, position=position(fields, 0)
    )


def gns(talker: str, fields: list[str]) -> Gns:
    """GNS,time,lat,N,lon,E,mode letters,sats,hdop,alt,geoid,age,station[,nav status]."""
    return Gns(
        talker=talker,
        time=utc_time(fields[0]),
        position=position(fields, 1),
        mode=fields[5] or None,
        satellites_used=opt_int(fields[6]),
        hdop=opt_float(fields[7]),
        altitude_m=opt_float(_field(fields, 8)),
    )
