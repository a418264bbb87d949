"""The record store backends this firmware knows, by name (the ``[store] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="sqlite",
        module="firmware.store.backends.sqlite",
        summary="SQLite file in the data directory (WAL, synchronous=FULL, append-only)",
        requires=("sqlite3",),
        install="sqlite3 ships with CPython; on Raspberry Pi OS install python3 (not -minimal)",
    ),
)
