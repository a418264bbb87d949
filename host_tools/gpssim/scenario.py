"""Scenarios: a declarative table of segments (walk, tunnel, cold start...) on a timeline."""

from dataclasses import dataclass

from host_tools.gpssim.constellation import Reception


class ScenarioError(ValueError):
    """A scenario specification names an unknown segment or has a bad duration."""


@dataclass(frozen=True)
class Phase:
    """Part of a segment with constant reception, starting at a fraction of the segment."""

    start: float  # fraction of the segment's duration, 0 <= start < 1
    reception: Reception
    time_known: bool = True  # False: the receiver has not decoded the time yet


@dataclass(frozen=True)
class Segment:
    """One kind of stretch on the timeline: how the wearer moves and what the receiver sees."""

    name: str
    seconds: float  # default duration
    moving: bool
    phases: tuple[Phase, ...]
    fault: str | None = None  # name in faults.FAULTS applied to the bytes of its epochs
    jump_m: float = 0.0  # spoofed position offset while in the segment
    help: str = ""


OPEN_SKY = (Phase(0.0, Reception()),)
SPOOF_BEARING_DEG = 60.0

SEGMENTS: dict[str, Segment] = {
    s.name: s
    for s in (
        Segment("walk", 30, True, OPEN_SKY, help="walk the route under open sky, 3D fix"),
        Segment("stand", 10, False, OPEN_SKY, help="stand still under open sky"),
        Segment(
            "cold-start", 24, False,
            (
                Phase(0.0, Reception(tracking=0.0, almanac=False), time_known=False),
                Phase(0.2, Reception(tracking=0.3, almanac=False, max_used=0)),
                Phase(0.5, Reception(tracking=0.6, max_used=3, dop_scale=1.5)),
                Phase(0.75, Reception(dop_scale=1.2)),
            ),
            help="power-on: no time, no fix; then time; then a 2D fix; then 3D",
        ),
        Segment(
            "tunnel", 15, True, (Phase(0.0, Reception(tracking=0.0)),),
            help="walk through a tunnel: every signal lost, no fix",
        ),
        Segment(
            "recovery", 8, True,
            (
                Phase(0.0, Reception(tracking=0.5, max_used=3, dop_scale=2.0)),
                Phase(0.25, Reception(dop_scale=1.8)),
                Phase(0.6, Reception()),
            ),
            help="signals come back after a tunnel: 2D, then 3D with a poor HDOP, then normal",
        ),
        Segment(
            "indoor", 20, False, (Phase(0.0, Reception(attenuation_db=10.0, dop_scale=2.0)),),
            help="stand indoors: weak signals, fewer satellites, degraded HDOP",
        ),
        Segment(
            "spoof", 10, True, (Phase(0.0, Reception(uniform_snr=44.0)),), jump_m=4200.0,
            help="a spoofer: position jumps 4.2 km away, equally strong signals",
        ),
        Segment("garbage", 10, True, OPEN_SKY, fault="garbage",
                help="binary garbage bytes injected between sentences"),
        Segment("bad-checksum", 10, True, OPEN_SKY, fault="checksum",
                help="some sentences arrive with a wrong checksum"),
        Segment("baud-mismatch", 10, True, OPEN_SKY, fault="baud",
                help="receiver and reader at different baud rates: garbled bytes"),
    )
}

# Named timelines made of segments, e.g. the bench demo (~30 s at 1 Hz).
MACROS: dict[str, tuple[str, ...]] = {
    "demo": ("walk:12", "tunnel:10", "recovery:8"),
}


@dataclass(frozen=True)
class Slot:
    """A segment placed on the timeline."""

    segment: Segment
    start: float
    seconds: float

    def phase_at(self, t: float) -> Phase:
        """The phase in force ``t`` seconds into the timeline (``t`` within this slot)."""
        fraction = (t - self.start) / self.seconds if self.seconds > 0 else 0.0
        current = self.segment.phases[0]
        for phase in self.segment.phases:
            if fraction >= phase.start:
                current = phase
        return current


class Timeline:
    """Segments one after another; the last one is stretched when asked to run longer."""

    def __init__(self, slots: tuple[Slot, ...]) -> None:
        if not slots:
            raise ScenarioError("empty scenario; name at least one segment, e.g. 'walk'")
        self.slots = slots

    @property
    def seconds(self) -> float:
        """Total duration in simulated seconds."""
        last = self.slots[-1]
        return last.start + last.seconds

    def stretched(self, seconds: float) -> "Timeline":
        """The same timeline with its last segment extended to last ``seconds`` in total."""
        if seconds <= self.seconds:
            return self
        last = self.slots[-1]
        longer = Slot(last.segment, last.start, seconds - last.start)
        return Timeline(self.slots[:-1] + (longer,))

    def slot_at(self, t: float) -> Slot:
        """The slot in force at ``t`` seconds (the last one at and after the end)."""
        for slot in self.slots:
            if t < slot.start + slot.seconds:
                return slot
        return self.slots[-1]


def parse_scenario(spec: str) -> Timeline:
    """``name[:seconds],...`` (e.g. ``cold-start,walk:60,tunnel:20,walk``) into a timeline."""
    items: list[str] = []
    for raw in (part.strip() for part in spec.split(",")):
        if raw:
            items.extend(MACROS.get(raw, (raw,)))
    slots: list[Slot] = []
    start = 0.0
    for item in items:
        name, _, seconds_text = item.partition(":")
        segment = SEGMENTS.get(name)
        if segment is None:
            known = ", ".join(sorted([*SEGMENTS, *MACROS]))
            raise ScenarioError(f"unknown scenario segment {name!r}; choose from: {known}")
        seconds = segment.seconds
        if seconds_text:
            try:
                seconds = float(seconds_text)
            except ValueError as err:
                raise ScenarioError(f"{item!r}: duration must be seconds, e.g. 'walk:60'") from err
            if not 0 < seconds < 1e7:
                raise ScenarioError(f"{item!r}: duration must be a positive number of seconds")
        slots.append(Slot(segment, start, seconds))
        start += seconds
    return Timeline(tuple(slots))


def describe_segments() -> str:
    """One line per segment and macro, for ``--help``."""
    lines = [f"{s.name} ({s.seconds:g} s): {s.help}" for s in SEGMENTS.values()]
    lines += [f"{name}: {' + '.join(parts)}" for name, parts in MACROS.items()]
    return "; ".join(lines)
