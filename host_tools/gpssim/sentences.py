"""NMEA 0183 sentences (GGA, RMC, GSA, GSV, VTG, ZDA) formatted as u-blox receivers print them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from firmware.core.nmea import build_sentence
from host_tools.gpssim.constellation import SYSTEMS, SatView, SkyView
from host_tools.gpssim.route import Point

KNOTS_PER_MPS = 3600.0 / 1852.0
KMH_PER_MPS = 3.6
FIX_NONE, FIX_2D, FIX_3D = 1, 2, 3  # GSA navigation mode
SENTENCE_TYPES = ("RMC", "VTG", "GGA", "GSA", "GSV", "ZDA")  # u-blox output order


@dataclass(frozen=True)
class Epoch:
    """Everything a receiver reports in one measurement epoch."""

    time: datetime | None  # UTC; None until the receiver has decoded the time (cold start)
    position: Point | None  # None while there is no fix
    mode: int  # FIX_NONE, FIX_2D or FIX_3D
    speed_mps: float | None
    course_deg: float | None  # None when moving too slowly for a heading
    geoid_separation_m: float
    sky: SkyView


@dataclass(frozen=True)
class Dialect:
    """Talker and NMEA version: ``GP`` prints NMEA 2.3, ``GN`` prints NMEA 4.10 extras."""

    talker: str  # "GP" or "GN"

    @property
    def v41(self) -> bool:
        """NMEA 4.10 fields: GSA system id, GSV signal id, RMC navigational status."""
        return self.talker == "GN"


def format_time(t: datetime | None) -> str:
    """``hhmmss.ss`` (rounded to the hundredth), or empty when the time is unknown."""
    if t is None:
        return ""
    t = t + timedelta(microseconds=5000)
    return f"{t:%H%M%S}.{t.microsecond // 10000:02d}"


def format_coord(value: float, degree_digits: int) -> str:
    """``ddmm.mmmmm`` (latitude, 2 degree digits) or ``dddmm.mmmmm`` (longitude, 3)."""
    total = round(abs(value) * 60 * 100_000)  # in units of 1e-5 minute, so no 60.00000 carry bug
    degrees, rest = divmod(total, 60 * 100_000)
    minutes, fraction = divmod(rest, 100_000)
    return f"{degrees:0{degree_digits}d}{minutes:02d}.{fraction:05d}"


def _lat_lon(p: Point | None) -> str:
    if p is None:
        return ",,,"
    ns = "N" if p.lat >= 0 else "S"
    ew = "E" if p.lon >= 0 else "W"
    return f"{format_coord(p.lat, 2)},{ns},{format_coord(p.lon, 3)},{ew}"


def _dop(value: float) -> str:
    return f"{min(value, 99.99):.2f}"


def _mode_letter(e: Epoch) -> str:
    return "A" if e.mode >= FIX_2D else "N"


def gga(e: Epoch, d: Dialect) -> list[str]:
    """Fix data: time, position, quality (0 invalid / 1 GPS), satellites used, HDOP, altitude."""
    if e.position is None or e.mode < FIX_2D:
        return [build_sentence(f"{d.talker}GGA,{format_time(e.time)},,,,,0,00,99.99,,,,,,")]
    used = min(12, e.sky.used_count)  # u-blox caps GGA at 12 even when more are used
    alt = e.position.alt if e.position.alt is not None else 0.0
    body = (
        f"{d.talker}GGA,{format_time(e.time)},{_lat_lon(e.position)},1,{used:02d},"
        f"{_dop(e.sky.hdop)},{alt:.1f},M,{e.geoid_separation_m:.1f},M,,"
    )
    return [build_sentence(body)]


def rmc(e: Epoch, d: Dialect) -> list[str]:
    """Recommended minimum: time, status A/V, position, speed (knots), course, date, mode."""
    date = f"{e.time:%d%m%y}" if e.time is not None else ""
    fixed = e.position is not None and e.mode >= FIX_2D
    speed = f"{e.speed_mps * KNOTS_PER_MPS:.3f}" if fixed and e.speed_mps is not None else ""
    course = f"{e.course_deg:.2f}" if fixed and e.course_deg is not None else ""
    body = (
        f"{d.talker}RMC,{format_time(e.time)},{'A' if fixed else 'V'},"
        f"{_lat_lon(e.position if fixed else None)},{speed},{course},{date},,,{_mode_letter(e)}"
    )
    # NMEA 4.10 adds the navigational status; u-blox always prints V there.
    return [build_sentence(body + (",V" if d.v41 else ""))]


def vtg(e: Epoch, d: Dialect) -> list[str]:
    """Course and speed over ground (true course, knots and km/h)."""
    if e.position is None or e.mode < FIX_2D or e.speed_mps is None:
        return [build_sentence(f"{d.talker}VTG,,,,,,,,,N")]
    course = f"{e.course_deg:.2f}" if e.course_deg is not None else ""
    body = (
        f"{d.talker}VTG,{course},T,,M,{e.speed_mps * KNOTS_PER_MPS:.3f},N,"
        f"{e.speed_mps * KMH_PER_MPS:.3f},K,{_mode_letter(e)}"
    )
    return [build_sentence(body)]


def gsa(e: Epoch, d: Dialect) -> list[str]:
    """DOP and active satellites; with ``GN`` one sentence per constellation (4.10 system id)."""
    systems = SYSTEMS[d.talker]
    mode = e.mode if e.position is not None else FIX_NONE
    dops = f"{_dop(e.sky.pdop)},{_dop(e.sky.hdop)},{_dop(e.sky.vdop)}"
    if mode == FIX_NONE:
        dops = "99.99,99.99,99.99"
    out = []
    for system in systems:
        used = [s.prn for s in e.sky.sats if s.system == system and s.used][:12]
        slots = [f"{p:02d}" for p in used] + [""] * (12 - len(used))
        ids = ",".join(slots)  # always 12 fields, empty ones included
        tail = f",{system.system_id:X}" if d.v41 else ""
        out.append(build_sentence(f"{d.talker}GSA,A,{mode},{ids},{dops}{tail}"))
    return out


def gsv(e: Epoch, d: Dialect) -> list[str]:
    """Satellites in view, four per sentence, one group per constellation (GP/GL/GA talkers)."""
    out = []
    for system in SYSTEMS[d.talker]:
        sats = [s for s in e.sky.sats if s.system == system]  # in channel order, like u-blox
        signal = f",{system.signal_id:X}" if d.v41 else ""
        groups = [sats[i : i + 4] for i in range(0, len(sats), 4)] or [[]]
        for n, group in enumerate(groups, start=1):
            fields = "".join("," + _gsv_sat(s) for s in group)
            body = f"{system.talker}GSV,{len(groups)},{n},{len(sats):02d}{fields}{signal}"
            out.append(build_sentence(body))
    return out


def _gsv_sat(s: SatView) -> str:
    snr = f"{s.snr:02d}" if s.snr is not None else ""
    return f"{s.prn:02d},{s.elevation:02d},{s.azimuth:03d},{snr}"


def zda(e: Epoch, d: Dialect) -> list[str]:
    """UTC date and time; the local zone fields are always 00,00."""
    if e.time is None:
        return [build_sentence(f"{d.talker}ZDA,,,,,00,00")]
    t = e.time
    return [build_sentence(f"{d.talker}ZDA,{format_time(t)},{t:%d},{t:%m},{t:%Y},00,00")]


FORMATTERS: dict[str, Callable[[Epoch, Dialect], list[str]]] = {
    "RMC": rmc,
    "VTG": vtg,
    "GGA": gga,
    "GSA": gsa,
    "GSV": gsv,
    "ZDA": zda,
}


def epoch_sentences(e: Epoch, d: Dialect, types: tuple[str, ...] = SENTENCE_TYPES) -> list[str]:
    """All sentences of one epoch in receiver order, each ending in CR LF."""
    out: list[str] = []
    for name in SENTENCE_TYPES:
        if name in types:
            out.extend(FORMATTERS[name](e, d))
    return out
