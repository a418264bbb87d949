"""The feedback sink backends this firmware knows, by name (the ``[ui] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="null",
        module="firmware.ui.backends.null",
        summary="no feedback device (a headless unit; the log still says everything)",
    ),
    Backend(
        name="report",
        module="firmware.ui.backends.report",
        summary="JSON lines of receipts, guidance, state and events (bench and technicians)",
    ),
)
