"""The supervisor backends this firmware knows, by name (the ``[supervisor] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="serial",
        module="firmware.supervisor.backends.serial",
        summary="the RP2040 supervisor on USB CDC or a UART (pyserial), framed per PROTOCOL.md",
        requires=("serial",),
        install="pip install pyserial (part of the fieldcheck base install)",
    ),
    Backend(
        name="sim",
        module="firmware.supervisor.backends.sim",
        summary="scripted supervisor events on a timetable (bench and tests, no hardware)",
    ),
)
