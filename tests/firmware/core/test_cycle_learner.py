"""CycleLearner's run counts decide as the window of the last epochs did (random sequences)."""

import random
from collections import deque

import pytest

from firmware.core.cycle import CycleLearner, Marker


class _Window:
    """The learner as it was: the last ``confirm`` epochs kept and compared as sets."""

    def __init__(self, confirm: int) -> None:
        self.confirm = max(1, confirm)
        self.recent: deque[tuple[Marker, str]] = deque(maxlen=self.confirm)
        self.end: Marker | None = None
        self.first: str | None = None

    def epoch_done(self, end: Marker, first: str) -> None:
        self.recent.append((end, first))
        if len(self.recent) < self.confirm:
            return
        if len({e for e, _ in self.recent}) == 1:
            self.end = end
            self.first = first if len({f for _, f in self.recent}) == 1 else None

    def unlearn(self) -> None:
        self.end, self.first = None, None
        self.recent.clear()


@pytest.mark.parametrize("confirm", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(20))
def test_run_counts_decide_as_the_window(confirm: int, seed: int) -> None:
    rng = random.Random(seed)
    ends: list[Marker] = [("GPZDA", 1), ("GPGLL", 1), ("GPGSV3/3:", 2)]
    firsts = ["GPRMC", "GPGGA"]
    learner, window = CycleLearner(confirm), _Window(confirm)
    for _ in range(400):
        if rng.random() < 0.03:
            learner.unlearn()
            window.unlearn()
        else:  # mostly the same epoch, sometimes another end or first
            end = ends[0] if rng.random() < 0.7 else rng.choice(ends)
            first = firsts[0] if rng.random() < 0.8 else rng.choice(firsts)
            learner.epoch_done(end, first)
            window.epoch_done(end, first)
        assert (learner.end, learner.first) == (window.end, window.first)
