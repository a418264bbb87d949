"""Why the supervisor last cut the Pi's power, persisted on flash so it survives an MCU reset."""

import struct

POWER_ON = 0
WATCHDOG = 1
REQUESTED = 2
MCU_RESET = 3

_FORMAT = ">BIHB"  # reason, silence_ms, watchdog reset count, pending (not yet reported)


class ResetLog:
    """One small record file; written only when power is cut, so flash wear is negligible."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> tuple[int, int, int, int]:
        """(reason, silence_ms, count, pending); a missing or damaged file reads as power-on."""
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except OSError:
            return (POWER_ON, 0, 0, 0)
        if len(data) != struct.calcsize(_FORMAT):
            return (POWER_ON, 0, 0, 0)
        reason, silence_ms, count, pending = struct.unpack(_FORMAT, data)
        return (reason, silence_ms, count, pending)

    def save(self, reason: int, silence_ms: int, count: int, pending: int) -> None:
        """Replace the record."""
        data = struct.pack(_FORMAT, reason, min(silence_ms, 0xFFFFFFFF), count & 0xFFFF, pending)
        with open(self.path, "wb") as handle:
            handle.write(data)
