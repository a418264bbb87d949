"""systemd's notify protocol (READY, WATCHDOG, STATUS, STOPPING) over $NOTIFY_SOCKET."""

import logging
import os
import socket

logger = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify datagrams; does nothing when not run by systemd with Type=notify."""

    def __init__(self, address: str | None = None) -> None:
        self._address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        """Whether a notify socket was given."""
        return bool(self._address)

    def watchdog_interval(self) -> float | None:
        """Half of systemd's WatchdogSec in seconds, or None when no watchdog is armed."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 2e6
        except ValueError:
            logger.warning("ignoring malformed WATCHDOG_USEC=%r", usec)
            return None

    def send(self, *fields: str) -> None:
        """Send ``KEY=value`` fields, e.g. ``send("READY=1", "STATUS=running")``."""
        if not self._address:
            return
        address = self._address
        if address.startswith("@"):  # abstract namespace socket
            address = "\0" + address[1:]
        try:
            if self._socket is None:
                # Non-blocking: a notify socket nobody reads must never wedge the main loop.
                kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
                self._socket = socket.socket(socket.AF_UNIX, kind)
            self._socket.sendto("\n".join(fields).encode(), address)
        except OSError as err:
            logger.warning("cannot notify systemd at %s: %s", self._address, err)

    def close(self) -> None:
        """Close the datagram socket."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
