"""What the installer needs from a service manager, and the update error."""

from dataclasses import dataclass
from typing import Protocol

from fieldcheck_protocol.bundle import BundleError
from firmware.errors import DeviceError


class UpdateError(DeviceError):
    """An update was refused, failed or was rolled back; ``code`` is a stable word."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(f"{code}: {message}", hint)
        self.code = code

    @classmethod
    def refused(cls, err: BundleError) -> "UpdateError":
        """The installer's refusal of a bundle the protocol checks turned down."""
        return cls(err.code.value, err.message, err.hint)


@dataclass(frozen=True)
class Health:
    """The daemon's state after a restart: healthy or not, and what was seen."""

    ok: bool
    detail: str


class ServiceManager(Protocol):
    """Restarts the daemon and says whether it came up healthy."""

    name: str

    def restart(self) -> None:
        """Stop the daemon if it runs and start it from the ``current`` slot (UpdateError)."""
        ...

    def wait_healthy(self, timeout_s: float) -> Health:
        """Wait up to ``timeout_s`` for the daemon to say it is ready and stay up."""
        ...
