"""A thread-safe event collector that tests can wait on."""

import threading
from collections.abc import Callable

from firmware.core.supervisor_event import SupervisorEvent


class Collector:
    """The ``on_event`` callback: stores events and wakes waiters."""

    def __init__(self) -> None:
        self.events: list[SupervisorEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: SupervisorEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, match: Callable[[SupervisorEvent], bool], timeout: float = 10.0) -> bool:
        """Whether an event matching ``match`` arrives within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: any(match(e) for e in self.events), timeout)

    def of(self, kind: type) -> list[SupervisorEvent]:
        """The events of one type, in arrival order."""
        with self._changed:
            return [e for e in self.events if isinstance(e, kind)]
