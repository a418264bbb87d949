"""Buzzer and LED patterns, declared as data: prompt, success and retry are told apart by rhythm.

Each pattern is a sequence of (on, off) seconds played on the buzzer and the LED together. The
rhythms differ in count and length so a wearer who cannot read the screen (dark, no glasses,
not looking) still knows what happened: three quick tones, twice, for "check in now", one long
tone for "recorded", two short tones for "try again", long-short-long for "contact your
officer", one blip for "a check-in is coming".
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Cue(StrEnum):
    """What a pattern tells the wearer."""

    REMINDER = "reminder"
    PROMPT = "prompt"
    SUCCESS = "success"
    RETRY = "retry"
    ATTENTION = "attention"


@dataclass(frozen=True)
class Pattern:
    """Pulses as (on seconds, off seconds); ``repeat`` plays the whole sequence that often."""

    pulses: tuple[tuple[float, float], ...]
    repeat: int = 1

    @property
    def duration_s(self) -> float:
        """How long the pattern plays."""
        return self.repeat * sum(on + off for on, off in self.pulses)

    @property
    def rhythm(self) -> tuple[float, ...]:
        """The on-times in order: what the ear tells apart."""
        return tuple(on for on, _ in self.pulses) * self.repeat


PATTERNS: Mapping[Cue, Pattern] = {
    Cue.REMINDER: Pattern(((0.15, 0.0),)),
    Cue.PROMPT: Pattern(((0.1, 0.1), (0.1, 0.1), (0.1, 0.6)), repeat=2),
    Cue.SUCCESS: Pattern(((0.8, 0.0),)),
    Cue.RETRY: Pattern(((0.25, 0.15), (0.25, 0.0))),
    Cue.ATTENTION: Pattern(((0.5, 0.2), (0.15, 0.2), (0.5, 0.0))),
}
