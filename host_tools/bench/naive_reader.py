"""The naive baseline reader: pyserial ``readline()`` plus ``pynmea2.parse``, nothing else.

Used only by the benchmarks, as the yardstick the device reader is measured against.
"""

import sys

import pynmea2
import serial


def main() -> int:
    """Read NMEA from the port in argv[1] at baud argv[2] until it closes; print the count."""
    port, baud = sys.argv[1], int(sys.argv[2])
    parsed = 0
    with serial.Serial(port, baud, timeout=1.0) as link:
        while True:
            try:
                line = link.readline()
            except serial.SerialException:
                break
            if not line:
                continue
            try:
                pynmea2.parse(line.decode("ascii", "replace").strip())
                parsed += 1
            except pynmea2.ParseError:
                pass
    print(parsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
