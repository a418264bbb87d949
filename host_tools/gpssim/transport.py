"""Where the simulated receiver's bytes go: a pseudo-terminal, a TCP server, or a serial port."""

import errno
import logging
import os
import select
import socket
import termios
import tty
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# termios speed constants by baud rate (cosmetic on a pty: pyserial sets its own on open).
_SPEEDS = {b: getattr(termios, f"B{b}") for b in (4800, 9600, 19200, 38400, 57600, 115200)}
CLIENT_SEND_TIMEOUT_S = 1.0  # a TCP client that cannot take an epoch in this time is dropped


class Transport(Protocol):
    """A byte sink that behaves like a receiver's serial line: it never waits for a reader."""

    def announce(self) -> str:
        """The first stdout line, e.g. ``PTY /dev/pts/3`` or ``TCP 127.0.0.1:40123``."""
        ...

    def service(self) -> None:
        """Housekeeping between epochs (accept TCP clients, drop stale pty data)."""
        ...

    def write(self, data: bytes) -> None:
        """Send ``data``; bytes nobody is reading are lost, as on a real wire."""
        ...

    def close(self) -> None:
        """Release the port; idempotent."""
        ...


class PtyTransport:
    """A pseudo-terminal whose slave path a reader opens as a serial port (e.g. with pyserial).

    The simulator keeps its own slave descriptor open so the path stays valid before a reader
    connects and after it closes; when the pty buffer (about 20 KB) fills because nobody
    reads, the stale bytes are discarded, like a UART overrun.
    """

    def __init__(self, baud: int) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)
        speed = _SPEEDS.get(baud)
        if speed is not None:
            attrs[4] = attrs[5] = speed
        attrs[2] |= termios.CLOCAL  # no modem control lines on a pty
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._closed = False
        self.dropped = 0

    def announce(self) -> str:
        return f"PTY {self.path}"

    def service(self) -> None:
        # Stale bytes are dropped only when the pty is full (see write): a slow reader that
        # drains in big gulps must not lose data it is about to read.
        return None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        flushed = False
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                if flushed:
                    self.dropped += len(view)
                    return
                # Nobody has read for a while: drop the stale bytes, like a UART overrun.
                termios.tcflush(self._slave, termios.TCIFLUSH)
                flushed = True
                continue
            view = view[written:]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._master)
            os.close(self._slave)


class TcpTransport:
    """A TCP server that sends every epoch to every connected client (like gpsd's raw feeds)."""

    def __init__(self, host: str, port: int) -> None:
        self._server = socket.create_server((host, port), reuse_port=False)
        self._server.setblocking(False)
        self._clients: list[socket.socket] = []
        self.host, self.port = self._server.getsockname()[:2]

    def announce(self) -> str:
        return f"TCP {self.host}:{self.port}"

    def service(self) -> None:
        while select.select([self._server], [], [], 0)[0]:
            try:
                client, peer = self._server.accept()
            except BlockingIOError:
                return
            client.settimeout(CLIENT_SEND_TIMEOUT_S)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._clients.append(client)
            logger.info("TCP client %s:%s connected", peer[0], peer[1])

    def write(self, data: bytes) -> None:
        self.service()
        for client in list(self._clients):
            try:
                client.sendall(data)
            except OSError as err:
                # The client left (reset, broken pipe) or stopped reading (timeout).
                logger.info("TCP client dropped: %s", err.strerror or err)
                self._clients.remove(client)
                client.close()

    @property
    def client_count(self) -> int:
        """Clients currently connected."""
        return len(self._clients)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._server.close()


class SerialTransport:
    """A real serial port (e.g. a USB-UART wired to the device's GPS input)."""

    def __init__(self, device: str, baud: int) -> None:
        import serial  # lazily: only this transport needs pyserial

        try:
            self._port: Any = serial.Serial(device, baud, write_timeout=2.0)
        except (serial.SerialException, OSError) as err:
            raise OSError(
                errno.ENODEV, f"cannot open serial port {device} at {baud} baud: {err}; "
                "check the device path and that no other program holds it"
            ) from err
        self._error = serial.SerialException
        self.device = device

    def announce(self) -> str:
        return f"SERIAL {self.device}"

    def service(self) -> None:
        return None

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except self._error as err:
            raise OSError(errno.EIO, f"serial port {self.device} failed: {err}") from err

    def close(self) -> None:
        self._port.close()
