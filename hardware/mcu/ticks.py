"""Millisecond tick arithmetic that wraps like MicroPython's time.ticks_* (period 2**30)."""

PERIOD = 1 << 30
HALF = PERIOD >> 1


def diff(end: int, start: int) -> int:
    """Signed ``end - start`` in ms, correct across one wrap of the tick counter."""
    return ((end - start + HALF) & (PERIOD - 1)) - HALF


def add(start: int, delta: int) -> int:
    """``start + delta`` on the wrapping tick counter."""
    return (start + delta) & (PERIOD - 1)
