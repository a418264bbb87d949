"""The naive reader kept only as the benchmark baseline: pyserial ``readline()`` plus pynmea2.

Not a registered backend. ``readline()`` asks the kernel for one byte per system call, which is
what the chunked :mod:`firmware.gps.backends.serial` source avoids.
"""

from collections.abc import Callable

import pynmea2
import serial


def read_sentences(
    port: str, baudrate: int, sentences: int, opened: Callable[[], None], timeout: float = 2.0
) -> int:
    """Read and parse lines until ``sentences`` parsed or the port stays quiet; returns the count.

    ``opened`` is called once the port is open (pyserial flushes input on open).
    """
    parsed = 0
    # exclusive, as the device's own source opens it: on a shared machine another program's
    # reader reopening a vanished pty of the same number would otherwise steal bytes.
    with serial.Serial(port, baudrate, timeout=timeout, exclusive=True) as handle:
        opened()
        while parsed < sentences:
            raw = handle.readline()
            if not raw:
                break
            try:
                pynmea2.parse(raw.decode("ascii", "replace").strip())
            except pynmea2.ParseError:
                continue
            parsed += 1
    return parsed
