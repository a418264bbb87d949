"""Null sync backend: no server configured; records stay on the unit, nothing is acknowledged."""

from dataclasses import dataclass

from fieldcheck_protocol.clock import Clock
from firmware.sync.base import PushResult, RequestSigner, SyncTransport, SyncUnavailable


@dataclass(frozen=True)
class Config:
    """The null backend has no settings."""


def create(
    config: Config, signer: RequestSigner | None = None, clock: Clock | None = None
) -> "NullTransport":
    """Build the backend (same signature as every sync backend); it never acknowledges."""
    return NullTransport()


class NullTransport(SyncTransport):
    """Refuses every push as unavailable: an offline unit that keeps its whole backlog."""

    describe = "no server (null sync backend)"

    def _start(self) -> None:
        return None

    def _stop(self) -> None:
        return None

    def push(self, records: list[bytes]) -> PushResult:
        """Always unavailable; the sync loop backs off and the records stay pending."""
        raise SyncUnavailable("no sync server configured", 'set [sync] type = "https" and url')

    def health(self) -> str:
        """No server to ask."""
        raise SyncUnavailable("no sync server configured", 'set [sync] type = "https" and url')
