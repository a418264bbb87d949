"""The daemon's running parts and how each is watched; safe mode keeps only what must go on."""

from dataclasses import dataclass
from typing import Protocol

from firmware.core.lifecycle import Lifecycle
from firmware.services.checkin_worker import CheckinWorker
from firmware.services.gps_watch import GpsWatch
from firmware.services.supervision import EventPump
from firmware.services.sync_loop import SyncWorker
from firmware.supervisor.base import SupervisorLink


class Watched(Protocol):
    """A part with its own thread: the daemon restarts it when the thread dies."""

    @property
    def running(self) -> bool:
        """Whether it was started and not stopped."""
        ...

    @property
    def alive(self) -> bool:
        """Whether its thread runs."""
        ...

    def start(self) -> None:
        """Start it (idempotent)."""
        ...

    def stop(self) -> None:
        """Stop it (idempotent)."""
        ...


@dataclass(frozen=True)
class Parts:
    """The daemon's parts. ``gps`` and ``checkins`` are None in safe mode from the start (no
    valid config for them); ``sync`` runs only when a server is configured."""

    gps: GpsWatch | None
    checkins: CheckinWorker | None
    events: EventPump
    supervisor: SupervisorLink
    sync: SyncWorker
    syncing: bool
    #: The check-in worker's face engine, started first: a corrupt model means safe mode.
    engine: Lifecycle | None = None

    @property
    def features(self) -> tuple[tuple[str, Lifecycle], ...]:
        """What safe mode stops: GPS tracking and check-ins."""
        found: list[tuple[str, Lifecycle]] = []
        if self.checkins is not None:
            found.append(("checkin", self.checkins))
        if self.gps is not None:
            found.append(("gps", self.gps))
        return tuple(found)

    @property
    def local(self) -> tuple[tuple[str, Lifecycle], ...]:
        """What runs on the unit itself, in start order (the event pump before its link)."""
        return (*self.features, ("events", self.events), ("supervisor", self.supervisor))

    @property
    def all(self) -> tuple[tuple[str, Lifecycle], ...]:
        """Everything to start, in order."""
        return (*self.local, ("sync", self.sync)) if self.syncing else self.local

    def watched(self) -> tuple[tuple[str, Watched], ...]:
        """Every part with a thread, by name: each is restarted within the budget."""
        return tuple((name, part) for name, part in self.all)  # type: ignore[misc]
