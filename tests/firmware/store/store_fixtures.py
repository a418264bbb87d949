"""Shared helpers of the store tests (a free-space probe, the store factory and writer types)."""

from collections.abc import Callable
from pathlib import Path

from firmware.services.ledger import Appended
from firmware.store.backends.sqlite import SqliteRecordStore

StoreFactory = Callable[..., SqliteRecordStore]
#: ``write(store, kind, body, fix=None, gps_time=None)``: one record through a real ledger.
Writer = Callable[..., Appended]


class FreeSpace:
    """An injectable free-bytes probe: tests set ``bytes`` instead of filling a disk."""

    def __init__(self, free: int = 10**12) -> None:
        self.bytes = free
        self.asked: list[Path] = []

    def __call__(self, path: Path) -> int:
        self.asked.append(path)
        return self.bytes
