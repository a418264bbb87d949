"""A receiver's cycle, learned from the stream: which sentence ends each epoch.

A receiver sends the same sentences in the same order every epoch (e.g. RMC VTG GGA GSA GSV...
GLL). Once the last sentence of the cycle is known, an epoch is complete when that sentence
arrives, so its fix goes out at once instead of when the next epoch's first sentence shows up,
a whole epoch later. Until the cycle is confirmed (and after it changes), the tracker falls back
to the next epoch's first sentence or to a silence time-out.
"""

from functools import lru_cache

from firmware.core.observation import SENTENCE_TYPE, Gsv, Observation

#: A sentence's identity inside a cycle: its key and how many times that key came so far in the
#: epoch (two GNGSA in one epoch are ``("GNGSA", 1)`` and ``("GNGSA", 2)``).
Marker = tuple[str, int]


def sentence_key(obs: Observation) -> str:
    """Talker + type, with page and signal for GSV (``GPGSV3/3:1``): what repeats each epoch."""
    if type(obs) is Gsv:
        return _gsv_key(obs.talker, obs.page, obs.pages, obs.signal_id)
    return obs.talker + SENTENCE_TYPE[type(obs)]


@lru_cache(maxsize=256)
def _gsv_key(talker: str, page: int | None, pages: int | None, signal_id: str | None) -> str:
    """A GSV page's key, formatted once per page (the same pages come every epoch)."""
    return f"{talker}GSV{page}/{pages}:{signal_id or ''}"


class CycleLearner:
    """Confirms the cycle's last and first sentence after ``confirm_epochs`` agreeing epochs."""

    def __init__(self, confirm_epochs: int = 3) -> None:
        self.confirm_epochs = max(1, confirm_epochs)
        # The latest epoch's end and first sentence, and in how many epochs in a row (since the
        # last unlearn) each was the same: the last ``confirm_epochs`` agree when its run is
        # that long (counted per epoch instead of comparing a window of them).
        self._last: tuple[Marker, str] | None = None
        self._end_run = 0
        self._first_run = 0
        self.end: Marker | None = None
        self.first: str | None = None
        self.unlearned = 0  # times a late sentence proved the learned end wrong

    @property
    def learned(self) -> bool:
        """Whether an end of cycle is known."""
        return self.end is not None

    def epoch_done(self, end: Marker, first: str) -> None:
        """A complete epoch (not cut off by the end of input) ended with ``end``."""
        last_end, last_first = self._last or (None, None)
        self._end_run = self._end_run + 1 if end == last_end else 1
        self._first_run = self._first_run + 1 if first == last_first else 1
        self._last = (end, first)
        if self._end_run >= self.confirm_epochs:  # sticky otherwise: one dropped sentence
            self.end = end  # does not unlearn
            self.first = first if self._first_run >= self.confirm_epochs else None

    def is_end(self, marker: Marker) -> bool:
        """Whether ``marker`` completes the epoch."""
        return self.end is not None and marker == self.end

    def unlearn(self) -> None:
        """A sentence of a closed epoch came after its learned end: learn the cycle again."""
        if self.end is not None:
            self.unlearned += 1
        self.end = None
        self.first = None
        self._last, self._end_run, self._first_run = None, 0, 0
