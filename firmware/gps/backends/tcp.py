"""NMEA from a TCP server (the bench simulator or a network receiver); reconnects via restart."""

import socket
from dataclasses import dataclass

from firmware.core.settings import setting
from firmware.errors import GpsError
from firmware.gps.base import GpsSource
from firmware.gps.settings import ReaderSettings


@dataclass(frozen=True)
class Config(ReaderSettings):
    """Settings of the TCP GPS source (plus the shared reader settings)."""

    host: str = setting("127.0.0.1", "host name or address of the NMEA server")
    port: int = setting(10110, "TCP port of the NMEA server (10110 is the NMEA-over-IP port)")
    connect_timeout_s: float = setting(5.0, "seconds to wait for the connection")


def create(config: Config) -> "TcpSource":
    """Build the TCP source; it connects on ``start()``."""
    return TcpSource(config.host, config.port, config.connect_timeout_s)


class TcpSource(GpsSource):
    """A client socket; a closed or failed connection raises GpsError so the owner reconnects."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.describe = f"tcp://{host}:{port}"
        self._sock: socket.socket | None = None

    def _start(self) -> None:
        try:
            self._sock = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout_s
            )
        except OSError as err:
            raise GpsError(
                f"cannot connect to NMEA server {self.describe}: {err}",
                "check the server runs (e.g. `fieldcheck gps-sim --tcp`) and the host/port",
            ) from err

    def _stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def read(self, timeout: float) -> bytes:
        """Whatever arrived within ``timeout`` (up to 64 KiB)."""
        sock = self._sock
        if sock is None:
            raise GpsError(f"{self.describe} is not connected", "start the source first")
        try:
            sock.settimeout(timeout)
            data = sock.recv(65536)
        except TimeoutError:
            return b""
        except OSError as err:
            raise GpsError(f"NMEA server {self.describe} failed: {err}", "reconnecting") from err
        if not data:
            raise GpsError(f"NMEA server {self.describe} closed the connection", "reconnecting")
        return data
