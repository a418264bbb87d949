"""The GPS backends this firmware knows, by name (the ``[gps] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="serial",
        module="firmware.gps.backends.serial",
        summary="a receiver on a UART or USB serial port (pyserial)",
        requires=("serial",),
        install="pip install pyserial (part of the fieldcheck base install)",
    ),
    Backend(
        name="tcp",
        module="firmware.gps.backends.tcp",
        summary="NMEA from a TCP server, e.g. `fieldcheck gps-sim --tcp` on the bench",
    ),
    Backend(
        name="replay",
        module="firmware.gps.backends.replay",
        summary="replay a recorded NMEA log file with its timing (bench and tests)",
    ),
    Backend(
        name="sim",
        module="firmware.gps.backends.sim",
        summary="a simulated receiver with cold/hot starts and backup power (bench and tests)",
    ),
)
