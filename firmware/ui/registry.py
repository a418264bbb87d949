"""The feedback sink backends this firmware knows, by name (the ``[ui] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="null",
        module="firmware.ui.backends.null",
        summary="no feedback device (a headless unit; the log still says everything)",
    ),
    Backend(
        name="oled",
        module="firmware.ui.backends.oled",
        summary="the unit: SSD1306 128x64 OLED on I2C, LED and buzzer on GPIO, in [ui] language",
        requires=("luma.oled", "gpiozero"),
        install="install luma.oled and gpiozero (pip install 'fieldcheck[device]')",
    ),
    Backend(
        name="bench",
        module="firmware.ui.backends.bench",
        summary="every screen as a numbered 128x64 PNG in [ui] dir (demo and review)",
    ),
    Backend(
        name="console",
        module="firmware.ui.backends.console",
        summary="every screen as one text line on standard output (bench, ssh)",
    ),
    Backend(
        name="report",
        module="firmware.ui.backends.report",
        summary="JSON lines of receipts, guidance, state and events (bench and technicians)",
    ),
)
