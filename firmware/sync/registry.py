"""The sync backends this firmware knows, by name (the ``[sync] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="https",
        module="firmware.sync.backends.https",
        summary="HTTPS to the ingest server, signed requests, pinned server certificate (httpx)",
        requires=("httpx", "cbor2"),
        install="pip install 'fieldcheck[device]'",
    ),
    Backend(
        name="null",
        module="firmware.sync.backends.null",
        summary="no server: records stay on the unit until a real backend is configured",
    ),
)
