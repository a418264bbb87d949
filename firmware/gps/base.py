"""The GPS source interface: something that yields raw receiver bytes in chunks."""

from firmware.core.lifecycle import Lifecycle


class GpsSource(Lifecycle):
    """A raw NMEA byte stream owned by one reader thread.

    ``read`` returns whatever bytes arrived within ``timeout`` seconds (possibly ``b""``) and
    never blocks longer. When the underlying device disappears it raises ``GpsError``; the
    caller may then ``stop()`` and ``start()`` again to reopen it.
    """

    #: Human description for log messages, e.g. "/dev/serial0 at 9600 baud".
    describe: str = "gps source"

    def read(self, timeout: float) -> bytes:
        """Return the bytes available now or within ``timeout`` seconds."""
        raise NotImplementedError

    def standby(self) -> bool:
        """Put the receiver in backup power until the next start (then a hot start).

        Called while the source is running, just before it stops at the end of a duty-cycled
        wake (:mod:`firmware.gps.standby`). True when the command was sent; a source that
        cannot (a log replay, a network feed) returns False.
        """
        return False
