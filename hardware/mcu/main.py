"""Supervisor MCU entry point (RP2040, MicroPython): pins, I2C gauge, Pi link, main loop."""

import machine
import micropython
import select
import sys
import time

import gauge
import resetlog
import supervisor
import ticks

# Pin numbers: keep in step with hardware/pinmap.toml ([mcu] table); the tests compare them.
PIN_LINK_TX = 0  # UART0 to the Pi (Pi 4 / CM4 reference); unused with USB CDC
PIN_LINK_RX = 1
PIN_GAUGE_SDA = 4  # I2C0 to the MAX17048
PIN_GAUGE_SCL = 5
PIN_STRAP = 10  # strap continuity loop to GND; pulled up, so high = loop open = tamper
PIN_BUTTON = 11  # to GND, pulled up: low = pressed
PIN_PGOOD = 12  # charger PGOOD, open drain, low = external power present
PIN_PI_ENABLE = 15  # 5 V boost converter enable for the Pi: high = Pi powered

LINK = "usb"  # "usb": USB CDC (Pi Zero 2 W reference); "uart": UART0 at LINK_BAUD (Pi 4 / CM4)
LINK_BAUD = 115200
LOOP_MS = 10
#: With the Pi off and the inputs quiet the loop lightsleeps this long between polls (~1-2 mA
#: instead of ~20 mA); well inside the RP2040 watchdog's 8 s, and the timed Pi wake is checked
#: at every poll, so a wake is at most this late.
SLEEP_POLL_MS = 1000
#: After an edge on the strap or button the fast loop runs this long (debounce needs it).
QUIET_MS = 500
RESET_LOG = "reset.bin"


class Port:
    """A byte link to the Pi."""

    def read(self) -> bytes:
        """Whatever bytes are waiting (possibly none)."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Send bytes to the Pi."""
        raise NotImplementedError


class UsbPort(Port):
    """The USB CDC serial port (MicroPython's stdio), read without blocking."""

    def __init__(self) -> None:
        # Frames contain 0x03; without this a Ctrl-C byte would interrupt the main loop.
        micropython.kbd_intr(-1)
        self.poller = select.poll()
        self.poller.register(sys.stdin, select.POLLIN)

    def read(self) -> bytes:
        """Whatever bytes are waiting (possibly none)."""
        data = bytearray()
        while len(data) < 256 and self.poller.poll(0):
            data.extend(sys.stdin.buffer.read(1))
        return bytes(data)

    def write(self, data: bytes) -> None:
        """Send bytes to the Pi."""
        sys.stdout.buffer.write(data)


class UartPort(Port):
    """A hardware UART to the Pi."""

    def __init__(self) -> None:
        self.uart = machine.UART(0, baudrate=LINK_BAUD, tx=machine.Pin(PIN_LINK_TX),
                                 rx=machine.Pin(PIN_LINK_RX))

    def read(self) -> bytes:
        """Whatever bytes are waiting (possibly none)."""
        data = self.uart.read()
        return bytes(data) if data else b""

    def write(self, data: bytes) -> None:
        """Send bytes to the Pi."""
        self.uart.write(data)


class Board:
    """The real pins around a :class:`supervisor.Supervisor`."""

    def __init__(self, port: Port, now: int) -> None:
        self.port = port
        self.strap = machine.Pin(PIN_STRAP, machine.Pin.IN, machine.Pin.PULL_UP)
        self.button = machine.Pin(PIN_BUTTON, machine.Pin.IN, machine.Pin.PULL_UP)
        self.pgood = machine.Pin(PIN_PGOOD, machine.Pin.IN, machine.Pin.PULL_UP)
        self.enable = machine.Pin(PIN_PI_ENABLE, machine.Pin.OUT, value=1)
        self.woken = False
        self.last_edge = now
        # An edge on either input wakes a lightsleep at once (an IRQ with a handler wakes rp2).
        for pin in (self.strap, self.button):
            pin.irq(handler=self._edge, trigger=machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING)
        self.i2c = machine.I2C(0, sda=machine.Pin(PIN_GAUGE_SDA), scl=machine.Pin(PIN_GAUGE_SCL),
                               freq=100000)
        cause = machine.reset_cause()
        boot = resetlog.MCU_RESET if cause == machine.WDT_RESET else resetlog.POWER_ON
        self.logic = supervisor.Supervisor(now, resetlog.ResetLog(RESET_LOG), boot,
                                           strap_open=self.strap.value() == 1,
                                           external=self.pgood.value() == 0)

    def step(self, now: int) -> None:
        """One pass of the main loop."""
        logic = self.logic
        logic.inputs(now, self.strap.value() == 1, self.button.value() == 0,
                     self.pgood.value() == 0)
        if logic.gauge.due(now):
            self._read_gauge(now)
        out = logic.receive(now, self.port.read())
        out.extend(logic.poll(now))
        for data in out:
            self.port.write(data)
        self.enable.value(1 if logic.pi_power else 0)

    def _edge(self, pin: machine.Pin) -> None:
        """Pin IRQ: note the edge; the main loop polls at full rate again."""
        self.woken = True

    def rest_ms(self, now: int) -> int:
        """How long the loop may lightsleep now (0: the fast ``LOOP_MS`` poll).

        Only while the Pi is powered off (no link traffic to answer; USB CDC does not survive a
        lightsleep) and no input changed within ``QUIET_MS``.
        """
        if self.woken:
            self.woken = False
            self.last_edge = now
        if self.logic.pi_power or ticks.diff(now, self.last_edge) < QUIET_MS:
            return 0
        return SLEEP_POLL_MS

    def _read_gauge(self, now: int) -> None:
        try:
            vcell = self.i2c.readfrom_mem(gauge.ADDRESS, gauge.REG_VCELL, 2)
            soc = self.i2c.readfrom_mem(gauge.ADDRESS, gauge.REG_SOC, 2)
        except OSError:
            # No ACK from the gauge (loose cell connector): retry at the next interval.
            self.logic.gauge.last_read = now
            self.logic.gauge.has_read = True
            return
        self.logic.battery(now, vcell, soc)


def _now() -> int:
    # The stubs model ticks as an opaque type; on the RP2040 it is a small int that ticks.py
    # does the wrapping arithmetic on.
    return time.ticks_ms()  # type: ignore[return-value]


def run() -> None:
    """Forever: step the board, feed the MCU's own watchdog."""
    port = UsbPort() if LINK == "usb" else UartPort()
    board = Board(port, _now())
    # The MCU's own watchdog: if this loop hangs, the RP2040 resets and reports MCU_RESET.
    wdt = machine.WDT(timeout=8000)
    while True:
        turn(board, wdt, _now())


def turn(board: Board, wdt: machine.WDT, now: int) -> int:
    """One loop pass: step, feed the watchdog, then rest; returns the ms rested."""
    board.step(now)
    wdt.feed()
    rest = board.rest_ms(now)
    if rest:
        # ticks_ms keeps counting through it; a strap or button edge ends it early. Needs
        # MicroPython >= 1.26 on the RP2040 (earlier lightsleep broke the watchdog reset).
        machine.lightsleep(rest)
        return rest
    time.sleep_ms(LOOP_MS)
    return LOOP_MS


if __name__ == "__main__":
    run()
