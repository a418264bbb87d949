"""The simulated receiver: walks a route through a scenario timeline and produces NMEA epochs."""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from host_tools.gpssim.constellation import make_sky, observe
from host_tools.gpssim.route import Point, Route, bearing_deg, destination, distance_m, offset
from host_tools.gpssim.scenario import SPOOF_BEARING_DEG, Slot, Timeline
from host_tools.gpssim.sentences import (
    FIX_2D,
    FIX_3D,
    FIX_NONE,
    SENTENCE_TYPES,
    Dialect,
    Epoch,
    epoch_sentences,
)

MIN_COURSE_SPEED_MPS = 0.3  # below this receivers leave the course empty
NOISE_CORRELATION_S = 20.0  # receiver position errors wander slowly rather than jump
DEFAULT_ALTITUDE_M = 50.0  # used when the route has no elevations


@dataclass(frozen=True)
class ReceiverSettings:
    """How the simulated receiver behaves."""

    talker: str = "GP"
    rate_hz: float = 1.0
    speed_mps: float = 1.4
    noise_m: float = 1.5  # standard deviation of the horizontal error at HDOP 1
    geoid_separation_m: float = 0.0
    sentence_types: tuple[str, ...] = SENTENCE_TYPES


@dataclass(frozen=True)
class SimEpoch:
    """One epoch of output: when (seconds after the start), what it says, and its segment."""

    offset: float
    epoch: Epoch
    lines: tuple[str, ...]
    slot: Slot


@dataclass
class _Noise:
    """First-order Gauss-Markov error in metres (north, east, up)."""

    north: float = 0.0
    east: float = 0.0
    up: float = 0.0
    primed: bool = field(default=False)


class Receiver:
    """Generates epochs along ``route`` following ``timeline``, starting at UTC ``start``."""

    def __init__(
        self,
        route: Route,
        timeline: Timeline,
        settings: ReceiverSettings,
        start: datetime,
        rng: random.Random,
    ) -> None:
        self.route = route
        self.timeline = timeline
        self.settings = settings
        self.start = start
        self.rng = rng
        self.dialect = Dialect(settings.talker)
        self.sky = make_sky(rng, settings.talker)
        self._noise = _Noise()

    def epochs(self) -> Iterator[SimEpoch]:
        """Every epoch of the timeline, at the configured rate."""
        period = 1.0 / self.settings.rate_hz
        count = max(1, math.ceil(self.timeline.seconds * self.settings.rate_hz - 1e-9))
        travelled = 0.0
        previous = self.route.at(0.0)
        for k in range(count):
            t = k * period
            slot = self.timeline.slot_at(t)
            if slot.segment.moving and k > 0:
                travelled += self.settings.speed_mps * period
            true_position = self.route.at(travelled)
            epoch = self._epoch(t, slot, previous, true_position, period if k > 0 else 0.0)
            previous = true_position
            lines = epoch_sentences(epoch, self.dialect, self.settings.sentence_types)
            yield SimEpoch(t, epoch, tuple(lines), slot)

    def _epoch(self, t: float, slot: Slot, previous: Point, now: Point, dt: float) -> Epoch:
        phase = slot.phase_at(t)
        sky = observe(self.sky, t, phase.reception, self.rng)
        used = sky.used_count
        mode = FIX_3D if used >= 4 else FIX_2D if used == 3 else FIX_NONE
        when = self.start + timedelta(milliseconds=round(t * 1000)) if phase.time_known else None
        speed, course = self._motion(previous, now, dt)
        position = self._measured(now, dt, sky.hdop) if mode != FIX_NONE else None
        if position is not None and slot.segment.jump_m:
            position = destination(position, SPOOF_BEARING_DEG, slot.segment.jump_m)
        return Epoch(
            time=when,
            position=position,
            mode=mode,
            speed_mps=speed,
            course_deg=course,
            geoid_separation_m=self.settings.geoid_separation_m,
            sky=sky,
        )

    def _motion(self, previous: Point, now: Point, dt: float) -> tuple[float, float | None]:
        """Speed and course over ground from the true motion, with Doppler-sized noise."""
        true_speed = distance_m(previous, now) / dt if dt > 0 else 0.0
        speed = abs(true_speed + self.rng.gauss(0.0, 0.05))
        if true_speed < MIN_COURSE_SPEED_MPS:
            return speed, None
        course = (bearing_deg(previous, now) + self.rng.gauss(0.0, 1.0)) % 360.0
        return speed, course

    def _measured(self, true_position: Point, dt: float, hdop: float) -> Point:
        """The true position plus slowly wandering Gaussian error scaled by the HDOP."""
        sigma = self.settings.noise_m * max(0.5, min(hdop, 20.0))
        n = self._noise
        if not n.primed:
            n.north, n.east = self.rng.gauss(0.0, sigma), self.rng.gauss(0.0, sigma)
            n.up, n.primed = self.rng.gauss(0.0, 1.5 * sigma), True
        else:
            a = math.exp(-dt / NOISE_CORRELATION_S)
            b = math.sqrt(1.0 - a * a)
            n.north = a * n.north + b * self.rng.gauss(0.0, sigma)
            n.east = a * n.east + b * self.rng.gauss(0.0, sigma)
            n.up = a * n.up + b * self.rng.gauss(0.0, 1.5 * sigma)
        p = offset(true_position, n.north, n.east)
        alt = true_position.alt if true_position.alt is not None else DEFAULT_ALTITUDE_M
        return Point(p.lat, p.lon, alt + n.up)
