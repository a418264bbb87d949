"""A receiver's cycle, learned from the stream: which sentence ends each epoch.

A receiver sends the same sentences in the same order every epoch (e.g. RMC VTG GGA GSA GSV...
GLL). Once the last sentence of the cycle is known, an epoch is complete when that sentence
arrives, so its fix goes out at once instead of when the next epoch's first sentence shows up,
a whole epoch later. Until the cycle is confirmed (and after it changes), the tracker falls back
to the next epoch's first sentence or to a silence time-out.
"""

from collections import deque

from firmware.core.observation import SENTENCE_TYPE, Gsv, Observation

#: A sentence's identity inside a cycle: its key and how many times that key came so far in the
#: epoch (two GNGSA in one epoch are ``("GNGSA", 1)`` and ``("GNGSA", 2)``).
Marker = tuple[str, int]


def sentence_key(obs: Observation) -> str:
    """Talker + type, with page and signal for GSV (``GPGSV3/3:1``): what repeats each epoch."""
    if type(obs) is Gsv:
        return f"{obs.talker}GSV{obs.page}/{obs.pages}:{obs.signal_id or ''}"
    return obs.talker + SENTENCE_TYPE[type(obs)]


class CycleLearner:
    """Confirms the cycle's last and first sentence after ``confirm_epochs`` agreeing epochs."""

    def __init__(self, confirm_epochs: int = 3) -> None:
        self.confirm_epochs = max(1, confirm_epochs)
        self._recent: deque[tuple[Marker, str]] = deque(maxlen=self.confirm_epochs)
        self.end: Marker | None = None
        self.first: str | None = None
        self.unlearned = 0  # times a late sentence proved the learned end wrong

    @property
    def learned(self) -> bool:
        """Whether an end of cycle is known."""
        return self.end is not None

    def epoch_done(self, end: Marker, first: str) -> None:
        """A complete epoch (not cut off by the end of input) ended with ``end``."""
        self._recent.append((end, first))
        if len(self._recent) < self.confirm_epochs:
            return
        ends = {e for e, _ in self._recent}
        if len(ends) == 1:  # sticky otherwise: one dropped sentence does not unlearn
            self.end = end
            firsts = {f for _, f in self._recent}
            self.first = first if len(firsts) == 1 else None

    def is_end(self, marker: Marker) -> bool:
        """Whether ``marker`` completes the epoch."""
        return self.end is not None and marker == self.end

    def unlearn(self) -> None:
        """A sentence of a closed epoch came after its learned end: learn the cycle again."""
        if self.end is not None:
            self.unlearned += 1
        self.end = None
        self.first = None
        self._recent.clear()
