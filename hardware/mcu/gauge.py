"""MAX17048 fuel gauge: register decoding and low/critical thresholds (I2C done by main.py)."""

import ticks

ADDRESS = 0x36
REG_VCELL = 0x02  # 78.125 uV per LSB, one cell
REG_SOC = 0x04  # high byte: whole percent; low byte: 1/256 percent

LOW = 0x01
CRITICAL = 0x02


def millivolts(raw: bytes) -> int:
    """Cell voltage in mV from the two VCELL register bytes."""
    return (((raw[0] << 8) | raw[1]) * 78125) // 1000000


def percent(raw: bytes) -> int:
    """State of charge in whole percent from the two SOC register bytes (capped at 100)."""
    return min(raw[0], 100)


class Gauge:
    """Decides when to read the gauge and flags low/critical charge."""

    def __init__(self, interval_ms: int = 300000, low_percent: int = 15,
                 critical_percent: int = 5) -> None:
        self.interval_ms = interval_ms
        self.low_percent = low_percent
        self.critical_percent = critical_percent
        self.has_read = False
        self.last_read = 0

    def due(self, now: int) -> bool:
        """Whether a reading is due (always before the first one)."""
        return not self.has_read or ticks.diff(now, self.last_read) >= self.interval_ms

    def reading(self, now: int, vcell: bytes, soc: bytes) -> tuple[int, int, int]:
        """(millivolts, percent, flags) from raw registers; records the read time."""
        self.has_read = True
        self.last_read = now
        level = percent(soc)
        flags = 0
        if level <= self.low_percent:
            flags |= LOW
        if level <= self.critical_percent:
            flags |= CRITICAL
        return millivolts(vcell), level, flags
