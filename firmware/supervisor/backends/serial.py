"""The RP2040 supervisor on a serial port (USB CDC or UART) via pyserial, one owner thread."""

import logging
import queue
import threading
from dataclasses import dataclass

import serial

from fieldcheck_protocol.clock import Clock, SystemClock
from firmware.core.mcu_frame import FrameSplitter, Message, MsgType
from firmware.core.mcu_link import LinkEndpoint, Received
from firmware.core.settings import setting
from firmware.core.supervisor_event import EventCallback, LinkEvent, event_from_message
from firmware.errors import ConfigError, SupervisorError
from firmware.supervisor.base import SupervisorLink

logger = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05  # bounds how late a heartbeat or retransmit can be
# What the MCU accepts (PROTOCOL.md); checked here so a bad value fails at start-up, not as a NACK.
WATCHDOG_RANGE_S = (30, 3600)
BATTERY_INTERVAL_RANGE_S = (10, 65535)
LOW_PERCENT_RANGE = (1, 50)
MAX_SHUTDOWN_DELAY_S = 600
MAX_WAKE_AFTER_S = 259200


@dataclass(frozen=True)
class Config:
    """Settings of the serial supervisor link."""

    port: str = setting("/dev/fieldcheck-mcu", "serial device of the MCU (udev symlink)")
    baud: int = setting(115200, "baud rate on a UART link (USB CDC ignores it)")
    heartbeat_s: float = setting(5.0, "seconds between heartbeats to the MCU")
    link_timeout_s: float = setting(15.0, "no valid frame for this long means the link is lost")
    watchdog_s: int = setting(120, "heartbeat silence after which the MCU power-cycles the Pi")
    battery_interval_s: int = setting(300, "seconds between battery reports from the MCU")
    low_battery_percent: int = setting(15, "charge at or below which reports are flagged low")
    retransmit_s: float = setting(0.5, "seconds before an unacknowledged message is resent")
    max_retries: int = setting(5, "resends before a message is given up")
    reopen_s: float = setting(2.0, "seconds between attempts to reopen a missing port")


class SerialSupervisor(SupervisorLink):
    """Heartbeats, config push, ACKs and event decoding on one thread that owns the port."""

    def __init__(self, config: Config, on_event: EventCallback, clock: Clock) -> None:
        super().__init__(on_event)
        self._config = config
        self._clock = clock
        self.describe = config.port
        self._link = LinkEndpoint(config.retransmit_s, config.max_retries, config.link_timeout_s)
        self._requests: queue.Queue[tuple[MsgType, dict[str, int]]] = queue.Queue()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._up = False
        self._port_missing = False

    @property
    def link_up(self) -> bool:
        return self._up

    def request_shutdown(self, delay_s: int, wake_after_s: int) -> None:
        if not (0 <= delay_s <= MAX_SHUTDOWN_DELAY_S and 0 <= wake_after_s <= MAX_WAKE_AFTER_S):
            raise SupervisorError(
                f"shutdown request delay {delay_s} s / wake after {wake_after_s} s is out of range",
                f"the supervisor accepts a delay up to {MAX_SHUTDOWN_DELAY_S} s and a wake-up "
                f"up to {MAX_WAKE_AFTER_S} s away (PROTOCOL.md, SHUTDOWN)",
            )
        fields = {"delay_s": delay_s, "wake_after_s": wake_after_s}
        self._requests.put((MsgType.SHUTDOWN, fields))

    def flush(self, timeout_s: float) -> bool:
        """Wait until the queued requests (a SHUTDOWN) were sent and acknowledged."""
        deadline = self._clock.monotonic() + timeout_s
        while self._requests.qsize() or self._link.backlog:
            if self._clock.monotonic() >= deadline or not self.alive:
                return False
            self._stop_event.wait(0.05)
        return True

    def _start(self) -> None:
        self._stop_event.clear()
        self._thread = threading.Thread(target=self._run, name="supervisor-link", daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self._session()
            except SupervisorError as err:
                if not self._port_missing:
                    logger.warning("%s", err)
                self._port_missing = True
            except Exception:  # noqa: BLE001 - top of the supervised loop: log, reopen, go on
                logger.exception("supervisor link on %s failed; reopening", self._config.port)
            self._set_up(False, "port closed")
            self._stop_event.wait(self._config.reopen_s)

    def _open(self) -> serial.Serial:
        try:
            return serial.Serial(self._config.port, self._config.baud, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError) as err:
            raise SupervisorError(
                f"cannot open the supervisor link {self._config.port}: {err}",
                "check the USB cable to the RP2040, the udev rule 99-fieldcheck.rules "
                "(/dev/fieldcheck-mcu) and that the service user is in the dialout group",
            ) from err

    def _session(self) -> None:
        port = self._open()
        if self._port_missing:
            logger.info("supervisor link %s is back", self._config.port)
            self._port_missing = False
        splitter = FrameSplitter()
        self._link.requeue()
        self._link.send(MsgType.SET_CONFIG, self._settings())
        next_beat = self._clock.monotonic()
        try:
            while not self._stop_event.is_set():
                now = self._clock.monotonic()
                out: list[bytes] = []
                if now >= next_beat:
                    out.append(self._link.heartbeat())
                    next_beat = now + self._config.heartbeat_s
                out += self._take_requests(now)
                for frame in splitter.feed(self._read(port)):
                    out += self._handle(self._link.receive(frame, now))
                self._set_up(self._link.alive(now), "no answer")
                if out:
                    self._write(port, b"".join(out))
        finally:
            port.close()

    def _take_requests(self, now: float) -> list[bytes]:
        while True:
            try:
                kind, fields = self._requests.get_nowait()
            except queue.Empty:
                break
            self._link.send(kind, fields)
        frames, expired = self._link.poll(now)
        for message in expired:
            logger.warning("supervisor never acknowledged %s; giving up", message.kind.name)
        return frames

    def _handle(self, received: Received) -> list[bytes]:
        if received.error is not None:
            logger.debug("rejected a frame from the supervisor: %s", received.error)
        if received.refused is not None:
            logger.warning(
                "supervisor refused %s (NACK reason %s)",
                received.refused.kind.name,
                received.nack_reason,
            )
        if received.delivered is not None:
            self._deliver(received.delivered)
        return list(received.replies)

    def _deliver(self, message: Message) -> None:
        event = event_from_message(message, self._clock.now())
        if event is not None:
            self._emit(event)

    def _set_up(self, up: bool, why: str) -> None:
        if up == self._up:
            return
        self._up = up
        if up:
            logger.info("supervisor link up on %s", self._config.port)
            detail = f"supervisor answering on {self._config.port}"
        else:
            logger.warning("supervisor link lost on %s: %s", self._config.port, why)
            detail = f"{why} from the supervisor on {self._config.port}"
        self._emit(LinkEvent(self._clock.now(), up, detail))

    def _settings(self) -> dict[str, int]:
        return {
            "watchdog_s": self._config.watchdog_s,
            "battery_interval_s": self._config.battery_interval_s,
            "low_percent": self._config.low_battery_percent,
        }

    def _read(self, port: serial.Serial) -> bytes:
        try:
            return bytes(port.read(max(1, port.in_waiting)))
        except (serial.SerialException, OSError) as err:
            raise SupervisorError(
                f"supervisor link {self._config.port} went away: {err}",
                "check the USB cable to the RP2040; the link reopens by itself",
            ) from err

    def _write(self, port: serial.Serial, data: bytes) -> None:
        try:
            port.write(data)
        except (serial.SerialException, OSError) as err:
            raise SupervisorError(
                f"cannot write to the supervisor link {self._config.port}: {err}",
                "check the USB cable to the RP2040; the link reopens by itself",
            ) from err


def create(
    config: Config, *, on_event: EventCallback, clock: Clock | None = None
) -> SerialSupervisor:
    """Build the serial supervisor link (not started); refuses values the MCU would NACK."""
    checks = (
        ("watchdog_s", config.watchdog_s, WATCHDOG_RANGE_S),
        ("battery_interval_s", config.battery_interval_s, BATTERY_INTERVAL_RANGE_S),
        ("low_battery_percent", config.low_battery_percent, LOW_PERCENT_RANGE),
    )
    for name, value, (low, high) in checks:
        if not low <= value <= high:
            raise ConfigError(
                f"[supervisor] {name} = {value} is outside {low}..{high}",
                "the supervisor MCU refuses other values (hardware/mcu/PROTOCOL.md, SET_CONFIG)",
            )
    if config.heartbeat_s * 3 > config.watchdog_s:
        raise ConfigError(
            f"[supervisor] heartbeat_s = {config.heartbeat_s} is too slow for "
            f"watchdog_s = {config.watchdog_s}",
            "send at least three heartbeats per watchdog period",
        )
    return SerialSupervisor(config, on_event, clock or SystemClock())
