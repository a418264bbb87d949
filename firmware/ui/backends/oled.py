"""The unit's own feedback: the BOM's SSD1306 128x64 OLED on I2C (luma.oled), LED and buzzer
(gpiozero). The button is read by the supervisor MCU and arrives as a supervisor event.

luma.oled and gpiozero are imported only here; a config that picks this backend without them
fails validation saying what to install. Pins and address default to ``hardware/pinmap.md``.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Any

from gpiozero import LED, Buzzer, GPIOZeroError
from luma.core.error import Error as LumaError
from luma.core.interface.serial import i2c
from luma.oled.device import ssd1306

from firmware.core.settings import setting
from firmware.errors import DeviceError
from firmware.ui import layout
from firmware.ui.patterns import PATTERNS, Cue, Pattern
from firmware.ui.screen_sink import ScreenSink, check_language, words_for
from firmware.ui.screens import Screen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """The display's bus and address, the LED and buzzer pins (BCM), and the language."""

    language: str = setting("en", "the wearer's language: en, es, pt or ht")
    i2c_port: int = setting(1, "I2C bus of the display (/dev/i2c-N)")
    i2c_address: int = setting(0x3C, "I2C address of the SSD1306 (0x3C or 0x3D)")
    rotate: int = setting(0, "display rotation in quarter turns (0-3)")
    led_pin: int = setting(23, "BCM pin of the status LED; 0 for none")
    buzzer_pin: int = setting(24, "BCM pin of the buzzer transistor; 0 for none")

    def __post_init__(self) -> None:
        check_language(self.language)


class OledSink(ScreenSink):
    """Screens on the OLED, cues on the LED and buzzer (played on their own thread)."""

    def __init__(self, config: Config, device: Any = None, pin_factory: Any = None) -> None:
        super().__init__(words_for(config.language))
        self.config = config
        self.device = device
        self._pin_factory = pin_factory
        self._outputs: list[Any] = []
        self._cancel = threading.Event()
        self._player: threading.Thread | None = None

    def present(self, screen: Screen) -> None:
        """Draw ``screen`` on the display; a display that went away is logged, not raised."""
        if self.device is None:
            return
        try:
            self.device.display(layout.render(screen))
        except (LumaError, OSError) as err:
            logger.error("the display did not take the %s screen: %s", screen.name, err)

    def signal(self, cue: Cue) -> None:
        """Play ``cue``; a new cue cuts the one playing short."""
        if not self._outputs:
            return
        self._cancel.set()
        if self._player is not None:
            self._player.join(timeout=1.0)
        self._cancel = threading.Event()
        self._player = threading.Thread(target=self._play, args=(PATTERNS[cue], self._cancel),
                                        name=f"cue-{cue.value}", daemon=True)
        self._player.start()

    def _play(self, pattern: Pattern, cancel: threading.Event) -> None:
        try:
            for _ in range(pattern.repeat):
                for on, off in pattern.pulses:
                    self._set(True)
                    if cancel.wait(on):
                        return
                    self._set(False)
                    if off and cancel.wait(off):
                        return
        except GPIOZeroError as err:
            logger.error("the LED or buzzer failed: %s", err)
        finally:
            self._set(False)

    def _set(self, on: bool) -> None:
        for output in self._outputs:
            output.value = on

    def _start(self) -> None:
        if self.device is None:
            try:
                self.device = ssd1306(i2c(port=self.config.i2c_port,
                                          address=self.config.i2c_address),
                                      width=layout.WIDTH, height=layout.HEIGHT,
                                      rotate=self.config.rotate)
            except (LumaError, OSError) as err:
                raise DeviceError(
                    f"the SSD1306 display on I2C bus {self.config.i2c_port} address "
                    f"0x{self.config.i2c_address:02X} cannot be opened: {err}",
                    "check the display wiring (hardware/pinmap.md), that I2C is enabled "
                    "(raspi-config) and `i2cdetect -y 1` lists the address") from err
        pins = [(LED, self.config.led_pin), (Buzzer, self.config.buzzer_pin)]
        try:
            self._outputs = [kind(pin, pin_factory=self._pin_factory)
                             for kind, pin in pins if pin]
        except GPIOZeroError as err:
            raise DeviceError(f"the LED/buzzer pins {self.config.led_pin}/"
                              f"{self.config.buzzer_pin} cannot be used: {err}",
                              "check [ui] led_pin and buzzer_pin against "
                              "hardware/pinmap.md") from err

    def _stop(self) -> None:
        self._cancel.set()
        if self._player is not None:
            self._player.join(timeout=2.0)
        for output in self._outputs:
            output.close()
        self._outputs = []
        if self.device is not None:
            try:
                self.device.cleanup()
            except (LumaError, OSError) as err:
                logger.warning("the display did not clean up: %s", err)


def create(config: Config, device: Any = None, pin_factory: Any = None) -> OledSink:
    """Build the sink; ``device`` (a luma device) and ``pin_factory`` (gpiozero) for tests."""
    return OledSink(config, device, pin_factory)
