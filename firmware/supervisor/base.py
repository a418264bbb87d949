"""The supervisor interface: typed MCU events out through a callback, power requests in."""

import logging
import threading

from firmware.core.lifecycle import Lifecycle
from firmware.core.supervisor_event import EventCallback, SupervisorEvent

logger = logging.getLogger(__name__)


class SupervisorLink(Lifecycle):
    """The link to the supervisor MCU, owned by one thread.

    Events (:mod:`firmware.core.supervisor_event`) are passed to ``on_event`` on the link's own
    thread, in arrival order; the callback must return quickly (hand work to a queue). An
    exception in the callback is logged and does not stop the link.
    """

    #: Human description for log messages, e.g. "/dev/fieldcheck-mcu".
    describe: str = "supervisor"
    #: Whether the MCU behind this link really cuts the Pi's power after a SHUTDOWN request.
    #: A simulated one does not: halting then would only turn off the machine running it.
    cuts_power: bool = True

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event

    _thread: "threading.Thread | None" = None

    @property
    def alive(self) -> bool:
        """Whether the link's own thread is running (watched by the daemon)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def link_up(self) -> bool:
        """Whether the supervisor answered recently."""
        raise NotImplementedError

    def request_shutdown(self, delay_s: int, wake_after_s: int) -> None:
        """Ask the MCU to cut the Pi's power ``delay_s`` after now and restore it after
        ``wake_after_s`` (0: only the button or a tamper wakes it). Call before halting."""
        raise NotImplementedError

    def flush(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` until every request was acknowledged by the MCU.

        True when nothing is left unacknowledged (a link without acknowledgements: at once).
        """
        return True

    def _emit(self, event: SupervisorEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 - a consumer bug must not take the watchdog link down
            logger.exception("supervisor event handler failed for %s", type(event).__name__)
