"""Bytes -> observations: the framer and the pynmea2 parser in one object, with merged counters."""

from collections import Counter
from dataclasses import dataclass, field

from firmware.core.framer import DEFAULT_MAX_LINE, LineFramer
from firmware.core.observation import Observation
from firmware.gps.parser import SentenceParser


@dataclass(frozen=True)
class ReaderCounts:
    """What the reader has seen so far; ``rejected`` merges framing and parsing reasons."""

    bytes_in: int
    garbage_bytes: int
    lines: int
    accepted: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    talkers: dict[str, int] = field(default_factory=dict)

    @property
    def sentences_ok(self) -> int:
        """Sentences that passed every check and were used."""
        return sum(self.accepted.values())


class NmeaReader:
    """Feed raw receiver bytes in any chunking; get typed observations back."""

    def __init__(self, require_checksum: bool = True, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.framer = LineFramer(max_line)
        self.parser = SentenceParser(require_checksum)

    def feed(self, data: bytes) -> list[Observation]:
        """Observations completed by ``data`` (partial sentences wait for the next chunk)."""
        return self.parser.parse_all(self.framer.feed(data))

    def counts(self) -> ReaderCounts:
        """A snapshot of the counters."""
        rejected: Counter[str] = self.framer.rejected + self.parser.rejected
        return ReaderCounts(
            bytes_in=self.framer.bytes_in,
            garbage_bytes=self.framer.garbage_bytes,
            lines=self.parser.lines,
            accepted=dict(self.parser.accepted),
            ignored=dict(self.parser.ignored),
            rejected=dict(rejected),
            talkers=dict(self.parser.talkers),
        )
