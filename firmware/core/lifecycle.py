"""Start/stop as a template method: idempotent public calls, subclasses fill in the steps."""

import logging

logger = logging.getLogger(__name__)


class Lifecycle:
    """Base for anything that owns a resource. ``start``/``stop`` are idempotent."""

    _running: bool = False

    @property
    def running(self) -> bool:
        """Whether ``start`` succeeded and ``stop`` has not been called since."""
        return self._running

    def start(self) -> None:
        """Acquire the resource; a second call does nothing."""
        if self._running:
            return
        self._start()
        self._running = True

    def stop(self) -> None:
        """Release the resource; safe to call when not started."""
        if not self._running:
            return
        self._running = False
        self._stop()

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError
