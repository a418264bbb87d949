"""NMEA line -> typed observation: pynmea2 checks and splits, our table types the fields.

A line in the one plain form the receiver sends thousands of times an hour (``$`` + a two-letter
talker not starting with ``P`` + one of our sentence types + ``,`` data ``*HH``) is checked and
split here directly, exactly as pynmea2 would (same checksum, same fields), at a fraction of its
cost; any other line goes through pynmea2, which verifies the checksum and identifies talker and
sentence type. A plain line accepted once is remembered: the same text again (receivers
repeat GSA, GSV and VTG lines verbatim for seconds) is the same observation, counted again.
pynmea2's typed accessors are not used, because of traps measured on real logs: it accepts a
missing checksum unless asked, reads NMEA 4.1 RMC validity wrongly (its issue #162), takes the
4.1 GSV signal id for a satellite, returns 0.0 for an empty position and raises on the leap
second ``235960`` when it builds a datetime. The handlers in :mod:`firmware.core.nmea_fields`
type the raw fields instead.
"""

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pynmea2

from firmware.core import nmea_fields as fields
from firmware.core.observation import Observation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentenceHandler:
    """How to type one sentence formatter's fields."""

    sentence_type: str
    build: Callable[[str, list[str]], Observation]


HANDLERS: tuple[SentenceHandler, ...] = (
    SentenceHandler("GGA", fields.gga),
    SentenceHandler("RMC", fields.rmc),
    SentenceHandler("GSA", fields.gsa),
    SentenceHandler("GSV", fields.gsv),
    SentenceHandler("VTG", fields.vtg),
    SentenceHandler("ZDA", fields.zda),
    SentenceHandler("GLL", fields.gll),
    SentenceHandler("GNS", fields.gns),
)
_BY_TYPE = {h.sentence_type: h for h in HANDLERS}
_BUILD = {h.sentence_type: h.build for h in HANDLERS}
#: Accepted plain lines remembered per parser. Receivers repeat many lines verbatim (GSA, GSV
#: pages, VTG at rest): 46 % of the gpsd corpus's sentences repeat one of the 256 before them.
KNOWN_LINES = 256
#: What a handler raises on a field it refuses (FieldError, a ValueError, names the field).
_REFUSALS = (ValueError, IndexError, OverflowError, TypeError)
#: The plain form, for which pynmea2's regular expressions give the same split (talkers starting
#: with P would be read by pynmea2 as proprietary, lower case it upper-cases: both go to it).
_PLAIN = re.compile(
    r"\$([A-OQ-Z][A-Z])(" + "|".join(h.sentence_type for h in HANDLERS) + r"),"
    r"([^*]*)\*([0-9A-F]{2})\Z"
)


#: Masks of the low 64, 32, ... 1 bytes: the halving folds of a sentence (at most 128 bytes).
_M64, _M32, _M16, _M8, _M4, _M2 = ((1 << (8 * w)) - 1 for w in (64, 32, 16, 8, 4, 2))
#: Two upper-case hex digits -> their value (the checksum field of a plain sentence).
_HEX = {f"{n:02X}": n for n in range(256)}


def xor_checksum(data: bytes) -> int:
    """The NMEA checksum (XOR of all bytes), folded as one big integer: halves XORed together
    until one byte is left (a handful of C-level operations instead of one call per byte)."""
    if len(data) > 128:
        return _xor_long(data)
    value = int.from_bytes(data, "big")  # zero bytes pad the front: they change no XOR
    if value >> 512:
        value = (value >> 512) ^ (value & _M64)
    value = (value >> 256) ^ (value & _M32)
    value = (value >> 128) ^ (value & _M16)
    value = (value >> 64) ^ (value & _M8)
    value = (value >> 32) ^ (value & _M4)
    value = (value >> 16) ^ (value & _M2)
    return (value >> 8) ^ (value & 0xFF)


def _xor_long(data: bytes) -> int:
    """xor_checksum of more than 128 bytes: the same folds, as many as the length needs."""
    width = 1 << (len(data) - 1).bit_length()  # bytes, a power of two >= len(data)
    value = int.from_bytes(data, "big")
    while width > 1:
        width >>= 1
        bits = width * 8
        value = (value >> bits) ^ (value & ((1 << bits) - 1))
    return value


class SentenceParser:
    """Parses framed lines; every line ends up counted as accepted, ignored or rejected."""

    def __init__(self, require_checksum: bool = True) -> None:
        self.require_checksum = require_checksum
        #: Accepted lines by (sentence type, talker): one count a line, split by :attr:`accepted`
        #: and :attr:`talkers` when they are read (a read's worth of lines, not every line).
        self._accepted: Counter[tuple[str, str]] = Counter()
        self.ignored: Counter[str] = Counter()  # valid but not used, e.g. "GST", "PGRME"
        self.rejected: Counter[str] = Counter()  # by reason
        #: Plain lines already typed: line -> ((sentence type, talker), observation).
        self._known: dict[str, tuple[tuple[str, str], Observation]] = {}

    @property
    def accepted(self) -> Counter[str]:
        """Accepted sentences by type, e.g. ``"GGA"`` (a snapshot)."""
        return self._accepted_by(0)

    @property
    def talkers(self) -> Counter[str]:
        """Accepted sentences by talker, e.g. ``"GP"`` (a snapshot)."""
        return self._accepted_by(1)

    def _accepted_by(self, part: int) -> Counter[str]:
        """The accepted counts summed by one part of their (sentence type, talker) key."""
        counts: Counter[str] = Counter()
        for key, n in self._accepted.items():
            counts[key[part]] += n
        return counts

    @property
    def lines(self) -> int:
        """Every line this parser has judged."""
        return self._accepted.total() + self.ignored.total() + self.rejected.total()

    def parse(self, line: str) -> Observation | None:
        """The observation for ``line``, or None (counted) when it is rejected or not used."""
        known = self._known.get(line)
        if known is not None:  # the same text again: the same (immutable) observation
            self._accepted[known[0]] += 1
            return known[1]
        return self._parse_new(line)

    def parse_all(self, lines: list[str]) -> list[Observation]:
        """The observations of ``lines``, in order: :meth:`parse` of each, in one loop (a read
        brings dozens of lines, most of them repeats)."""
        known, accepted = self._known, self._accepted
        parse_new = self._parse_new
        out: list[Observation] = []
        for line in lines:
            entry = known.get(line)
            if entry is not None:  # as in parse
                accepted[entry[0]] += 1
                out.append(entry[1])
                continue
            observation = parse_new(line)
            if observation is not None:
                out.append(observation)
        return out

    def _parse_new(self, line: str) -> Observation | None:
        """:meth:`parse` of a line not remembered."""
        has_checksum = len(line) >= 4 and line[-3] == "*"
        if not has_checksum and self.require_checksum:
            self.rejected["checksum_missing"] += 1
            return None
        plain = _PLAIN.match(line)
        if plain is not None:
            return self._plain(line, plain)
        return self._by_library(line)

    def _plain(self, line: str, plain: "re.Match[str]") -> Observation | None:
        """A line of the plain form: checksummed and split here, typed, counted, remembered."""
        talker, sentence_type, data, checksum = plain.groups()
        if xor_checksum(line[1:-3].encode("ascii")) != _HEX[checksum]:
            self.rejected["checksum_bad"] += 1
            return None
        try:  # what _typed does, inline: this is the path of nearly every sentence
            observation = _BUILD[sentence_type](talker, data.split(","))
        except _REFUSALS as err:
            self._refused(sentence_type, err)
            return None
        counted = (sentence_type, talker)
        self._accepted[counted] += 1
        if len(self._known) >= KNOWN_LINES:
            self._known.clear()  # bounded; the lines that repeat are back within an epoch
        self._known[line] = (counted, observation)
        return observation

    def _by_library(self, line: str) -> Observation | None:
        """Any other line: pynmea2 checks and splits it, our handlers type the fields."""
        message = self._split(line)
        if message is None:
            return None
        if isinstance(message, pynmea2.ProprietarySentence):
            # $PGRME, $PUBX, $PFEC...: vendor sentences, valid but not used.
            vendor = getattr(message, "sentence_type", "") or message.manufacturer
            self.ignored[f"P{vendor}"] += 1
            return None
        sentence_type = str(getattr(message, "sentence_type", "") or type(message).__name__)
        talker = str(getattr(message, "talker", "") or "")
        handler = _BY_TYPE.get(sentence_type)
        if handler is None:
            self.ignored[sentence_type] += 1
            return None
        return self._typed(sentence_type, handler.build, talker, list(message.data))

    def _typed(
        self, sentence_type: str, build: Callable[[str, list[str]], Observation], talker: str,
        data: list[str],
    ) -> Observation | None:
        """The handler's observation of the split fields, counted; None (counted) if refused."""
        try:
            observation = build(talker, data)
        except _REFUSALS as err:
            self._refused(sentence_type, err)
            return None
        self._accepted[sentence_type, talker] += 1
        return observation

    def _refused(self, sentence_type: str, err: Exception) -> None:
        """Count a sentence its handler refused: by the field's reason, else as malformed."""
        if isinstance(err, fields.FieldError):
            logger.debug("rejected %s sentence: %s", sentence_type, err)
            self.rejected[err.reason] += 1
        else:
            logger.debug("malformed %s sentence: %s", sentence_type, err)
            self.rejected["malformed"] += 1

    def _split(self, line: str) -> "pynmea2.NMEASentence | None":
        try:
            # pynmea2 verifies a checksum whenever one is present, even with check=False;
            # a missing one was judged above against the policy, so check=True is not needed.
            return pynmea2.parse(line, check=False)
        except pynmea2.ChecksumError:
            self.rejected["checksum_bad"] += 1
        except pynmea2.SentenceTypeError:
            self.rejected["unknown_type"] += 1
        except pynmea2.ParseError:
            self.rejected["malformed"] += 1
        except Exception as err:  # noqa: BLE001 - the one boundary around the parser library
            # pynmea2 builds sentence classes from the data; odd input trips it in ways it does
            # not document (IndexError on "$PTNL*06"). Counted, and the read goes on.
            logger.debug("pynmea2 failed on a line: %r", err)
            self.rejected["parser_error"] += 1
        return None
