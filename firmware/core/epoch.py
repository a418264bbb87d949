"""One epoch's observations merged into a Fix: the sentences a receiver sends for one UTC time."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from firmware.core.cycle import Marker, sentence_key
from firmware.core.fix import DateSource, Fix, FixType
from firmware.core.observation import (
    CONSTELLATIONS,
    SENTENCE_TYPE,
    TIMED,
    Gga,
    Gll,
    Gns,
    Gsa,
    Gsv,
    Observation,
    Position,
    Rmc,
    UtcTime,
    Vtg,
    Zda,
    constellation_of_prn,
)
from firmware.core.utc_day import instant

MPS_PER_KNOT = 1852.0 / 3600.0
_VALID_QUALITIES = frozenset({1, 2, 3, 4, 5})  # 6 dead reckoning, 7 manual, 8 simulator: no


@dataclass(slots=True)
class Epoch:
    """Accumulates the observations of one epoch; :meth:`fix` merges them."""

    first_mono: float
    first_wall: datetime
    last_mono: float = 0.0  # when the latest sentence of the epoch arrived
    first_key: str | None = None  # the sentence key that opened the epoch
    last_marker: Marker | None = None  # the latest sentence key and its occurrence
    keys_seen: dict[str, int] = field(default_factory=dict)
    utc_time: UtcTime | None = None
    utc_date: date | None = None
    timed_types: set[type] = field(default_factory=set)
    talkers: dict[str, None] = field(default_factory=dict)  # ordered set
    sentences: dict[str, None] = field(default_factory=dict)
    gga: Gga | None = None
    rmc: Rmc | None = None
    gll: Gll | None = None
    gns: Gns | None = None
    vtg: Vtg | None = None
    gsas: list[Gsa] = field(default_factory=list)
    in_view: dict[tuple[str, str | None], int] = field(default_factory=dict)

    def belongs(self, obs: Observation) -> bool:
        """Whether ``obs`` is part of this epoch (same time, or untimed and no repeat)."""
        if not isinstance(obs, TIMED):
            return True
        when = obs.time
        if when is not None and self.utc_time is not None:
            # Usually the very object: the field parser hands out one UtcTime per time text.
            return when is self.utc_time or when.key == self.utc_time.key
        if when is None:
            return type(obs) not in self.timed_types
        return not self.timed_types  # untimed pages so far: this sentence gives them a time

    def add(self, obs: Observation, mono: float) -> Marker:
        """Merge ``obs`` (arrived at ``mono``); the first of a kind wins. Returns its marker."""
        kind = type(obs)
        name, merge = _MERGE[kind]
        # sentence_key(obs), its common case inline (one look-up of the type for both)
        key = obs.talker + name if kind is not Gsv else sentence_key(obs)
        count = self.keys_seen.get(key, 0) + 1
        self.keys_seen[key] = count
        if self.first_key is None:
            self.first_key = key
        marker = self.last_marker = (key, count)
        self.last_mono = mono
        self.talkers[obs.talker] = None
        self.sentences[name] = None
        merge(self, obs)
        return marker

    def _timed(self, obs: Gga | Rmc | Zda | Gll | Gns) -> None:
        self.timed_types.add(type(obs))
        if self.utc_time is None and obs.time is not None:
            self.utc_time = obs.time

    def _add_gga(self, obs: Gga) -> None:
        self._timed(obs)
        if self.gga is None:
            self.gga = obs

    def _add_rmc(self, obs: Rmc) -> None:
        self._timed(obs)
        self._dated(obs.date)
        if self.rmc is None:
            self.rmc = obs

    def _add_zda(self, obs: Zda) -> None:
        self._timed(obs)
        self._dated(obs.date)

    def _add_gll(self, obs: Gll) -> None:
        self._timed(obs)
        if self.gll is None:
            self.gll = obs

    def _add_gns(self, obs: Gns) -> None:
        self._timed(obs)
        if self.gns is None:
            self.gns = obs

    def _add_gsa(self, obs: Gsa) -> None:
        self.gsas.append(obs)

    def _add_vtg(self, obs: Vtg) -> None:
        if self.vtg is None:
            self.vtg = obs

    def _dated(self, day: date | None) -> None:
        if day is not None and self.utc_date is None:
            self.utc_date = day

    def _add_gsv(self, obs: Gsv) -> None:
        system = CONSTELLATIONS.get(obs.talker, "other")
        if system == "multi" and obs.prns:
            system = constellation_of_prn(obs.prns[0])
        if obs.in_view is not None:
            key = (system, obs.signal_id)
            if obs.in_view > self.in_view.get(key, -1):  # the most of the set's pages
                self.in_view[key] = obs.in_view

    def fix(self, day: date | None, date_source: DateSource | None) -> Fix:
        """The merged Fix, dated ``day`` (from ``date_source``; None: no trustworthy date).

        A valid fix dated by the receiver (not back-filled) carries the offset of GPS time
        against the system clock when its first sentence arrived.
        """
        position = self._position()
        valid = position is not None and self._valid()
        gga, gns, rmc, vtg = self.gga, self.gns, self.rmc, self.vtg
        altitude = gga.altitude_m if gga is not None else None
        if altitude is None and gns is not None:
            altitude = gns.altitude_m
        used = self._used_by_system()
        gsa_pdop = gsa_vdop = gsa_hdop = None
        for gsa in self.gsas:  # the first of the epoch's GSA sentences that has each
            gsa_pdop = gsa.pdop if gsa_pdop is None else gsa_pdop
            gsa_vdop = gsa.vdop if gsa_vdop is None else gsa_vdop
            gsa_hdop = gsa.hdop if gsa_hdop is None else gsa_hdop
        hdop = gga.hdop if gga is not None else None
        if hdop is None:
            hdop = gns.hdop if gns is not None and gns.hdop is not None else gsa_hdop
        sats = gga.satellites_used if gga is not None else None
        if sats is None and gns is not None:
            sats = gns.satellites_used
        if sats is None and used:
            sats = sum(used.values())
        course = rmc.course_deg if rmc is not None else None
        if course is None and vtg is not None:
            course = vtg.course_deg
        when = self.utc_time
        utc = instant(day, when) if day is not None and when is not None else None
        offset = None
        if utc is not None and valid and date_source is not DateSource.BACKFILL:
            offset = (utc - self.first_wall).total_seconds()
        return Fix.of({  # every field, built at once (a Fix a second: its cost counts)
            "utc": utc,
            "time_key": when.key if when else None,
            "latitude": position.latitude if position else None,
            "longitude": position.longitude if position else None,
            "altitude_m": altitude,
            "quality": gga.quality if gga is not None else None,
            "fix_type": self._fix_type(valid, altitude),
            "valid": valid,
            "hdop": hdop,
            "pdop": gsa_pdop,
            "vdop": gsa_vdop,
            "satellites_used": sats,
            "used_by_system": used,
            "in_view_by_system": self._in_view_by_system(),
            "speed_mps": self._speed(),
            "course_deg": course,
            "talkers": tuple(self.talkers),
            "sentences": tuple(self.sentences),
            "leap_second": bool(when and when.leap_second),
            "received_mono": self.first_mono,
            "clock_offset_s": offset,
            "flags": (),
            "date_source": date_source if utc is not None else None,
        })

    def _position(self) -> Position | None:
        for source in (self.gga, self.rmc, self.gns, self.gll):
            if source is not None and source.position is not None:
                return source.position
        return None

    def _valid(self) -> bool:
        """The receiver's verdict: every sentence that votes says valid, and one at least votes."""
        gga, rmc, gll, gns = self.gga, self.rmc, self.gll, self.gns
        if gga is not None and gga.quality not in _VALID_QUALITIES:
            return False
        if rmc is not None and not rmc.valid:
            return False
        if gll is not None and rmc is None and not gll.valid:
            return False
        if gns is not None and gns.mode is not None:
            # One mode letter per constellation; all N means no fix from any of them.
            return any(c not in "NEMS" for c in gns.mode)
        return gga is not None or rmc is not None or gll is not None

    def _fix_type(self, valid: bool, altitude: float | None) -> FixType:
        if not valid:
            return FixType.NONE
        best = None  # the highest GSA mode of the epoch
        for gsa in self.gsas:
            mode = gsa.fix_mode
            if mode is not None and (best is None or mode > best):
                best = mode
        if best == 3:
            return FixType.THREE_D
        if best == 2:
            return FixType.TWO_D
        return FixType.THREE_D if altitude is not None else FixType.TWO_D

    def _used_by_system(self) -> dict[str, int]:
        gsas = self.gsas
        if len(gsas) == 1 and gsas[0].system and gsas[0].prns:  # most epochs: one GSA
            return {gsas[0].system: len(set(gsas[0].prns))}
        used: dict[str, set[int]] = {}
        for gsa in gsas:
            if gsa.system and gsa.prns:  # one constellation: all its satellites at once
                used.setdefault(gsa.system, set()).update(gsa.prns)
                continue
            for prn in gsa.prns:
                system = gsa.system or constellation_of_prn(prn)
                used.setdefault(system, set()).add(prn)
        return {system: len(prns) for system, prns in used.items()}

    def _in_view_by_system(self) -> dict[str, int]:
        # NMEA 4.1 repeats the GSV set per signal (L1, L5...): a satellite counts once.
        result: dict[str, int] = {}
        for (system, _signal), count in self.in_view.items():
            result[system] = max(result.get(system, 0), count)
        return result

    def _speed(self) -> float | None:
        if self.rmc is not None and self.rmc.speed_knots is not None:
            return self.rmc.speed_knots * MPS_PER_KNOT
        if self.vtg is not None and self.vtg.speed_kmh is not None:
            return self.vtg.speed_kmh / 3.6
        return None


#: Each observation type's sentence name and how an epoch merges it (one look-up a sentence).
_MERGE: dict[type, tuple[str, Callable[[Epoch, Any], None]]] = {
    Gga: (SENTENCE_TYPE[Gga], Epoch._add_gga),
    Rmc: (SENTENCE_TYPE[Rmc], Epoch._add_rmc),
    Gsa: (SENTENCE_TYPE[Gsa], Epoch._add_gsa),
    Gsv: (SENTENCE_TYPE[Gsv], Epoch._add_gsv),
    Vtg: (SENTENCE_TYPE[Vtg], Epoch._add_vtg),
    Zda: (SENTENCE_TYPE[Zda], Epoch._add_zda),
    Gll: (SENTENCE_TYPE[Gll], Epoch._add_gll),
    Gns: (SENTENCE_TYPE[Gns], Epoch._add_gns),
}
