"""A GNSS receiver on a UART or USB serial port (pyserial), read in chunks, never per byte."""

import logging
import time
from dataclasses import dataclass
from typing import Any

from firmware.core.settings import setting
from firmware.errors import GpsError
from firmware.gps.base import GpsSource
from firmware.gps.settings import ReaderSettings
from firmware.gps.standby import StandbyKind, standby_command, wake_bytes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config(ReaderSettings):
    """Settings of the serial GPS source (plus the shared reader settings)."""

    port: str = setting("/dev/serial0", "serial device of the receiver (Pi UART: /dev/serial0)")
    baudrate: int = setting(9600, "baud rate, 8N1 (u-blox default 9600)")
    max_chunk: int = setting(4096, "largest read in bytes (reads take whatever has arrived)")
    gather_s: float = setting(
        0.05,
        "after the first byte of a burst, wait this long so one read takes the whole burst "
        "(far fewer system calls at high baud rates; adds at most this latency); 0 = off",
    )
    standby: StandbyKind = setting(
        "ubx", "backup power between duty-cycled wakes: ubx (u-blox UBX-RXM-PMREQ), mtk "
        "(PMTK161) or none; the receiver is woken at start"
    )


def create(config: Config) -> "SerialSource":
    """Build the serial source; the port is opened by ``start()``."""
    if config.baudrate <= 0:
        raise GpsError(f"baud rate {config.baudrate} is not valid", "set [gps] baudrate, e.g. 9600")
    if not 0 <= config.gather_s <= 1:
        raise GpsError(f"gather_s {config.gather_s} is out of range", "use 0 to 1 seconds")
    return SerialSource(config.port, config.baudrate, config.max_chunk, config.gather_s,
                        config.standby)


class SerialSource(GpsSource):
    """Owns the port exclusively. Reads what has arrived instead of ``readline()``.

    pyserial's ``readline()`` issues one ``read`` system call per byte (about 137 us of CPU per
    sentence on a Pi); here a read takes every waiting byte at once and framing is done above.
    """

    def __init__(
        self, port: str, baudrate: int = 9600, max_chunk: int = 4096, gather_s: float = 0.0,
        standby_kind: StandbyKind = "none",
    ) -> None:
        self.standby_kind: StandbyKind = standby_kind
        self.port = port
        self.baudrate = baudrate
        self.max_chunk = max_chunk
        self.gather_s = gather_s
        self.describe = f"{port} at {baudrate} baud"
        self._serial: Any = None
        self._errors: tuple[type[BaseException], ...] = (OSError,)

    def _start(self) -> None:
        import serial  # the vendor library stays inside the backend, imported when used

        self._errors = (serial.SerialException, OSError)
        try:
            self._serial = serial.Serial(
                self.port,
                self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=0.5,
                exclusive=True,  # one owner: a second reader would steal bytes
            )
        except self._errors as err:
            raise GpsError(
                f"cannot open GPS port {self.describe}: {err}",
                "check the receiver is connected and the port name; on a Pi set "
                "enable_uart=1 in config.txt and disable the serial console",
            ) from err
        self._send(wake_bytes(self.standby_kind), "wake-up")

    def standby(self) -> bool:
        """Send the receiver's backup-power command (``[gps] standby``)."""
        command = standby_command(self.standby_kind)
        return bool(command) and self._send(command, f"{self.standby_kind} standby")

    def _send(self, data: bytes, what: str) -> bool:
        """Write ``data`` to the receiver; a failure is logged (the reads will say more)."""
        if not data or self._serial is None:
            return False
        try:
            self._serial.write(data)
            self._serial.flush()
        except self._errors as err:
            logger.warning("sending the %s bytes to %s failed: %s", what, self.describe, err)
            return False
        logger.debug("sent the %s bytes to %s", what, self.describe)
        return True

    def _stop(self) -> None:
        port, self._serial = self._serial, None
        if port is None:
            return
        try:
            port.close()
        except self._errors as err:  # closing a vanished device may fail; it is gone either way
            logger.debug("closing %s failed: %s", self.describe, err)

    def read(self, timeout: float) -> bytes:
        """Every byte waiting, or wait up to ``timeout`` for the first one."""
        port = self._serial
        if port is None:
            raise GpsError(f"GPS port {self.describe} is not open", "start the source first")
        try:
            waiting = port.in_waiting
            if not waiting:
                if port.timeout != timeout:  # pyserial re-applies the termios on every set
                    port.timeout = timeout
                first = port.read(1)
                if not first:
                    return b""
                if self.gather_s:
                    # A receiver sends each epoch as one burst: let it arrive before reading on.
                    time.sleep(self.gather_s)
                rest = port.in_waiting
                return first + port.read(min(rest, self.max_chunk)) if rest else first
            return bytes(port.read(min(waiting, self.max_chunk)))
        except self._errors as err:
            raise GpsError(
                f"GPS port {self.describe} went away: {err}",
                "check the cable or USB connection; the port is reopened automatically",
            ) from err
