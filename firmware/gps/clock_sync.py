"""Whether the system clock is synchronised, asked of the kernel (adjtimex) or systemd-timesyncd.

A Raspberry Pi has no real-time clock: until NTP (or the GPS itself) sets it, the clock may say
1970 or the time of the last shutdown. Fixes whose sentences carry no date may take the system
clock's date only while this says yes; it never assumes.
"""

import ctypes
import ctypes.util
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

#: systemd-timesyncd creates this file once it has synchronised the clock.
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
_TIME_ERROR = 5  # adjtimex(2) return value: the clock is not synchronised
_STA_UNSYNC = 0x0040  # timex.status bit: the clock is not synchronised


class _Timex(ctypes.Structure):
    """The head of ``struct timex`` (adjtimex(2)); the tail is room for the kernel to fill."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),
    ]


def _adjtimex() -> "ctypes._NamedFuncPointer | None":
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        func = libc.adjtimex
    except (OSError, AttributeError) as err:  # not Linux, or no C library found
        logger.debug("adjtimex unavailable: %s", err)
        return None
    func.argtypes = [ctypes.POINTER(_Timex)]
    func.restype = ctypes.c_int
    return func


class KernelClockSync:
    """Asks the kernel's NTP state (read-only adjtimex, no privilege); else timesyncd's flag."""

    def __init__(self, flag: Path = TIMESYNCD_FLAG) -> None:
        self._flag = flag
        self._func = _adjtimex()

    def synchronized(self) -> bool:
        """True when the kernel says the clock is synchronised (or timesyncd's flag exists)."""
        if self._func is not None:
            timex = _Timex()  # modes = 0: only read the state
            state = self._func(ctypes.byref(timex))
            if state >= 0:
                return state != _TIME_ERROR and not timex.status & _STA_UNSYNC
            logger.debug("adjtimex failed: errno %s", ctypes.get_errno())
        return self._flag.exists()
