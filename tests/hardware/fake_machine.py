"""A stand-in for MicroPython's ``machine`` and ``micropython`` modules, for CPython tests."""

import sys
import types
from collections.abc import Callable
from typing import ClassVar

PWRON_RESET = 1
WDT_RESET = 3


class Pin:
    """A GPIO whose input level tests set through ``Pin.levels``."""

    IN = 0
    OUT = 1
    PULL_UP = 1
    IRQ_FALLING = 4
    IRQ_RISING = 8
    levels: ClassVar[dict[int, int]] = {}
    modes: ClassVar[dict[int, int]] = {}
    handlers: ClassVar[dict[int, tuple[Callable[["Pin"], None], int]]] = {}

    def __init__(self, pin: int, mode: int = -1, pull: int = -1, value: int | None = None) -> None:
        self.pin = pin
        if mode != -1:
            Pin.modes[pin] = mode
        if pull == Pin.PULL_UP:
            Pin.levels.setdefault(pin, 1)
        if value is not None:
            Pin.levels[pin] = value

    def irq(self, handler: Callable[["Pin"], None], trigger: int) -> None:
        """Register an edge handler; :func:`edge` calls it like the hardware would."""
        Pin.handlers[self.pin] = (handler, trigger)

    def value(self, level: int | None = None) -> int:
        """Read the level, or drive it when ``level`` is given."""
        if level is not None:
            Pin.levels[self.pin] = level
        return Pin.levels.get(self.pin, 0)


class I2C:
    """An I2C bus whose devices are register maps in ``I2C.registers``."""

    registers: ClassVar[dict[tuple[int, int], bytes]] = {}

    def __init__(self, bus: int, sda: Pin, scl: Pin, freq: int = 400000) -> None:
        self.bus = bus

    def readfrom_mem(self, address: int, register: int, count: int) -> bytes:
        """Read ``count`` bytes; an absent device raises OSError like a missing ACK."""
        try:
            return I2C.registers[(address, register)][:count]
        except KeyError as err:
            raise OSError(19, "ENODEV") from err


class UART:
    """A UART with an inbound and outbound byte buffer."""

    def __init__(
        self, bus: int, baudrate: int = 9600, tx: Pin | None = None, rx: Pin | None = None
    ) -> None:
        self.inbound = bytearray()
        self.outbound = bytearray()

    def read(self) -> bytes | None:
        data, self.inbound = bytes(self.inbound), bytearray()
        return data or None

    def write(self, data: bytes) -> int:
        self.outbound += data
        return len(data)


class WDT:
    """The RP2040's own watchdog; counts feeds."""

    def __init__(self, timeout: int = 5000) -> None:
        self.feeds = 0

    def feed(self) -> None:
        self.feeds += 1


RESET_CAUSE = [PWRON_RESET]
#: Every ``lightsleep(ms)`` call, in order.
SLEEPS: list[int] = []


def lightsleep(time_ms: int) -> None:
    """Record the sleep (the tests drive time themselves)."""
    SLEEPS.append(time_ms)


def edge(pin: int, level: int) -> None:
    """Set ``pin`` to ``level`` and run its IRQ handler, as an edge on the real pin does."""
    before = Pin.levels.get(pin, 0)
    Pin.levels[pin] = level
    handler, trigger = Pin.handlers[pin]
    if (level > before and trigger & Pin.IRQ_RISING) or (level < before
                                                           and trigger & Pin.IRQ_FALLING):
        handler(Pin(pin))


def reset_cause() -> int:
    """What reset the MCU (tests set ``RESET_CAUSE[0]``)."""
    return RESET_CAUSE[0]


def install() -> None:
    """Register this module as ``machine`` and a minimal ``micropython`` in ``sys.modules``."""
    Pin.levels.clear()
    Pin.modes.clear()
    Pin.handlers.clear()
    SLEEPS.clear()
    I2C.registers.clear()
    RESET_CAUSE[0] = PWRON_RESET
    sys.modules["machine"] = sys.modules[__name__]
    micropython = types.ModuleType("micropython")
    micropython.kbd_intr = lambda char: None  # type: ignore[attr-defined]
    sys.modules["micropython"] = micropython
