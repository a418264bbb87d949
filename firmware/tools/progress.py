"""A one-line progress bar for long offline runs: on standard error, and only on a terminal."""

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30
#: Redraw at most this often, seconds (a redraw per pair would cost more than the pair).
REDRAW_S = 0.2


class Progress:
    """``update(done)`` redraws ``label  [#####.....]  done/total``; ``close()`` ends the line.

    Drawn only when ``stream`` is a terminal, so piped output and logs stay clean.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._clock = clock
        self._drawn_at: float | None = None

    def update(self, done: int) -> None:
        """Show ``done`` of ``total`` (redrawn at most every REDRAW_S, and at the end)."""
        if not self.enabled:
            return
        now = self._clock()
        if done < self.total and self._drawn_at is not None and now - self._drawn_at < REDRAW_S:
            return
        self._drawn_at = now
        filled = WIDTH * min(done, self.total) // self.total
        bar = "#" * filled + "." * (WIDTH - filled)
        self.stream.write(f"\r{self.label}  [{bar}]  {done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line so what follows starts on a fresh one."""
        if self.enabled and self._drawn_at is not None:
            self.stream.write("\n")
            self.stream.flush()
