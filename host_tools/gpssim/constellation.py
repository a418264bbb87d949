"""The simulated sky: satellites per constellation, their elevation/azimuth/SNR, and the DOPs."""

import math
import random
from dataclasses import dataclass

MAX_DOP = 99.99  # what receivers print when a DOP is unknown or huge
ELEVATION_MASK_DEG = 5.0  # satellites lower than this are not used in the fix
MIN_USED_SNR = 25  # dB-Hz a satellite needs to be used in the solution
MIN_TRACKED_SNR = 16  # below this the receiver loses the signal: empty SNR field in GSV


@dataclass(frozen=True)
class System:
    """A GNSS constellation as NMEA names it."""

    name: str
    talker: str  # GSV talker of its satellites
    system_id: int  # NMEA 4.10 GSA system id
    signal_id: int  # NMEA 4.10 GSV signal id of its L1/E1 civil signal
    prn_first: int  # NMEA satellite id range
    prn_last: int
    in_view: tuple[int, int]  # typical count above the horizon at mid latitudes


GPS = System("GPS", "GP", 1, 1, 1, 32, (9, 12))
GLONASS = System("GLONASS", "GL", 2, 1, 65, 88, (6, 9))
GALILEO = System("Galileo", "GA", 3, 7, 1, 36, (6, 9))
SYSTEMS: dict[str, tuple[System, ...]] = {"GP": (GPS,), "GN": (GPS, GLONASS, GALILEO)}


@dataclass(frozen=True)
class Satellite:
    """One satellite with a slowly drifting position in the sky (a straight-line pass model)."""

    system: System
    prn: int
    elevation0: float
    azimuth0: float
    elevation_rate: float  # degrees per second; GPS satellites move ~10-30 degrees an hour
    azimuth_rate: float
    snr_bias: float  # antenna gain / obstruction differences between satellites

    def elevation(self, t: float) -> float:
        """Elevation in degrees at ``t`` seconds into the simulation (may go below 0)."""
        return min(89.0, self.elevation0 + self.elevation_rate * t)

    def azimuth(self, t: float) -> float:
        """Azimuth in degrees true [0, 360) at ``t`` seconds."""
        return (self.azimuth0 + self.azimuth_rate * t) % 360.0


@dataclass(frozen=True)
class SatView:
    """What the receiver reports about one satellite in one epoch."""

    system: System
    prn: int
    elevation: int
    azimuth: int
    snr: int | None  # None: in view (from the almanac) but not tracked
    used: bool


@dataclass(frozen=True)
class SkyView:
    """All satellites of one epoch and the dilution of precision of the used ones."""

    sats: tuple[SatView, ...]
    pdop: float
    hdop: float
    vdop: float

    @property
    def used_count(self) -> int:
        """Satellites used in the solution."""
        return sum(1 for s in self.sats if s.used)


def make_sky(rng: random.Random, talker: str) -> tuple[Satellite, ...]:
    """A plausible random sky for the ``GP`` (GPS only) or ``GN`` (GPS+GLONASS+Galileo) receiver."""
    sats: list[Satellite] = []
    for system in SYSTEMS[talker]:
        count = rng.randint(*system.in_view)
        for prn in sorted(rng.sample(range(system.prn_first, system.prn_last + 1), count)):
            # asin of a uniform draw puts more satellites low in the sky, as in reality.
            elevation = math.degrees(math.asin(rng.uniform(0.08, 1.0)))
            sats.append(
                Satellite(
                    system=system,
                    prn=prn,
                    elevation0=elevation,
                    azimuth0=rng.uniform(0.0, 360.0),
                    elevation_rate=rng.uniform(-0.008, 0.008),
                    azimuth_rate=rng.uniform(-0.01, 0.01),
                    snr_bias=rng.gauss(0.0, 2.0),
                )
            )
    return tuple(sats)


@dataclass(frozen=True)
class Reception:
    """Signal conditions of one epoch, set by the scenario."""

    tracking: float = 1.0  # fraction of satellites in view whose signal is tracked
    attenuation_db: float = 0.0  # walls, roof, tunnel
    max_used: int | None = None  # cap on satellites in the solution (cold start: 2D with 3)
    dop_scale: float = 1.0  # multipath indoors inflates the reported DOPs
    uniform_snr: float | None = None  # a spoofer's signals all arrive equally strong
    almanac: bool = True  # without one (cold start) untracked satellites are not listed


def observe(
    sky: tuple[Satellite, ...], t: float, reception: Reception, rng: random.Random
) -> SkyView:
    """What the receiver sees of ``sky`` at ``t`` seconds under ``reception``."""
    visible = [s for s in sky if s.elevation(t) > 0.0]
    tracked_count = round(len(visible) * max(0.0, min(1.0, reception.tracking)))
    # The strongest (highest) satellites are acquired first.
    by_height = sorted(visible, key=lambda s: -s.elevation(t))
    tracked = {id(s) for s in by_height[:tracked_count]}
    snrs: dict[int, int | None] = {}
    for sat in visible:
        snrs[id(sat)] = _snr(sat, t, reception, rng) if id(sat) in tracked else None
    candidates = [
        s for s in by_height
        if (snrs[id(s)] or 0) >= MIN_USED_SNR and s.elevation(t) >= ELEVATION_MASK_DEG
    ]
    if reception.max_used is not None:
        candidates = candidates[: reception.max_used]
    used_ids = {id(s) for s in candidates}
    listed = [s for s in visible if reception.almanac or snrs[id(s)] is not None]
    views = tuple(
        SatView(s.system, s.prn, round(s.elevation(t)), round(s.azimuth(t)) % 360, snrs[id(s)],
                id(s) in used_ids)
        for s in listed
    )
    pdop, hdop, vdop = dops([(s.elevation(t), s.azimuth(t)) for s in candidates])
    scale = reception.dop_scale
    return SkyView(views, min(MAX_DOP, pdop * scale), min(MAX_DOP, hdop * scale),
                   min(MAX_DOP, vdop * scale))


def _snr(sat: Satellite, t: float, reception: Reception, rng: random.Random) -> int | None:
    if reception.uniform_snr is not None:
        return round(reception.uniform_snr + rng.gauss(0.0, 0.3))
    elevation = max(0.0, sat.elevation(t))
    # Higher satellites are stronger: ~22 dB-Hz at the horizon, ~46 dB-Hz at the zenith.
    snr = 22.0 + 24.0 * math.sin(math.radians(elevation)) + sat.snr_bias
    snr += rng.gauss(0.0, 1.0) - reception.attenuation_db
    if snr < MIN_TRACKED_SNR:
        return None
    return min(55, round(snr))


def dops(sats: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(PDOP, HDOP, VDOP) of satellites given as (elevation, azimuth) degrees; 99.99 if unsolvable.

    With three satellites the receiver holds altitude (2D fix): only HDOP is meaningful.
    """
    if len(sats) < 3:
        return MAX_DOP, MAX_DOP, MAX_DOP
    rows = []
    for elevation, azimuth in sats:
        el, az = math.radians(elevation), math.radians(azimuth)
        unit = [math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)]
        rows.append(unit + [1.0] if len(sats) >= 4 else unit[:2] + [1.0])
    q = _inverse(_gram(rows))
    if q is None:
        return MAX_DOP, MAX_DOP, MAX_DOP
    hdop = math.sqrt(max(0.0, q[0][0] + q[1][1]))
    if len(sats) < 4:
        return hdop, hdop, MAX_DOP
    vdop = math.sqrt(max(0.0, q[2][2]))
    return math.sqrt(hdop**2 + vdop**2), hdop, vdop


def _gram(rows: list[list[float]]) -> list[list[float]]:
    n = len(rows[0])
    return [[sum(r[i] * r[j] for r in rows) for j in range(n)] for i in range(n)]


def _inverse(m: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan inverse of a small square matrix; None when (nearly) singular."""
    n = len(m)
    aug = [row[:] + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(aug[r][col]))
        if abs(aug[pivot][col]) < 1e-9:
            return None
        aug[col], aug[pivot] = aug[pivot], aug[col]
        scale = aug[col][col]
        aug[col] = [v / scale for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0.0:
                factor = aug[r][col]
                aug[r] = [v - factor * p for v, p in zip(aug[r], aug[col], strict=True)]
    return [row[n:] for row in aug]
