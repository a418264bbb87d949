"""Debounced digital inputs: the strap continuity loop, the button and the charger's PGOOD."""

import ticks

SHORT = 1
LONG = 2


class Debouncer:
    """A level is accepted only after it has held for ``stable_ms``."""

    def __init__(self, stable_ms: int, initial: bool, now: int) -> None:
        self.stable_ms = stable_ms
        self.state = initial
        self.candidate = initial
        self.since = now

    def update(self, raw: bool, now: int) -> bool:
        """Feed the raw level; return True when the debounced state just changed."""
        if raw != self.candidate:
            self.candidate = raw
            self.since = now
            return False
        if raw != self.state and ticks.diff(now, self.since) >= self.stable_ms:
            self.state = raw
            return True
        return False


class Button:
    """A push button: reports (SHORT or LONG, duration_ms) when it is released."""

    def __init__(self, now: int, debounce_ms: int = 30, long_ms: int = 2000) -> None:
        self.debouncer = Debouncer(debounce_ms, False, now)
        self.long_ms = long_ms
        self.down_at = now

    def update(self, pressed: bool, now: int) -> tuple[int, ...]:
        """Feed the raw level; return (kind, duration_ms) on release, else ()."""
        if not self.debouncer.update(pressed, now):
            return ()
        if self.debouncer.state:
            self.down_at = now
            return ()
        held = ticks.diff(now, self.down_at)
        return (LONG if held >= self.long_ms else SHORT, min(held, 0xFFFF))
