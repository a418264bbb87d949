"""The sync interfaces: what the sync loop needs of the store, of the key and of the transport."""

from typing import Protocol

from fieldcheck_protocol.wire import IngestAnswer, RejectedItem
from firmware.core.lifecycle import Lifecycle
from firmware.errors import SyncError

#: Config keys a signed ``set_policy`` command may change unless ``[sync] remote_keys`` says
#: otherwise: the schedule and how often location is recorded; never keys, paths, the server.
DEFAULT_REMOTE_KEYS = (
    "policy.location_interval_s", "checkin.per_day", "checkin.day_start", "checkin.day_end",
)


class PendingStore(Protocol):
    """What sync needs of the record store; any ``RecordStore`` satisfies it."""

    def pending(self, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        """Unacknowledged ``(seq, cose)`` pairs, oldest first, bounded in count and bytes."""
        ...

    def acknowledge(self, seq: int) -> None:
        """The server has committed every record with a sequence number ``<= seq``."""
        ...


class RequestSigner(Protocol):
    """The device key as sync sees it: it signs request digests and never leaves the device."""

    @property
    def device_id(self) -> str:
        """The id the server registered this device under."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message``."""
        ...


#: The server's answer to one batch, and one record it refused: the wire contract's own types
#: (defined once, in the protocol package); a transport hands them on as the server sent them.
PushResult = IngestAnswer
Rejection = RejectedItem


class SyncRefused(SyncError):
    """The server refused the request itself (HTTP 4xx): retrying alone will not help."""

    def __init__(self, status: int, code: str, message: str, hint: str = "") -> None:
        super().__init__(f"server refused the batch: HTTP {status} {code}: {message}", hint)
        self.status = status
        self.code = code


class SyncUnavailable(SyncError):
    """The server could not be reached or failed (network, timeout, HTTP 5xx): retry later."""


class PinMismatch(SyncError):
    """The server presented a certificate other than the pinned one."""


class SyncTransport(Lifecycle):
    """Pushes one batch of COSE records and returns the server's acknowledgement.

    ``push`` raises ``SyncUnavailable`` for transient failures, ``SyncRefused`` when the server
    refuses the request (a technician must look) and ``PinMismatch`` when the server is not the
    pinned one.
    """

    #: Human description for log messages, e.g. "https://ingest.example:8443".
    describe: str = "sync transport"

    def push(self, records: list[bytes]) -> PushResult:
        """Deliver ``records`` (oldest first) in one request."""
        raise NotImplementedError

    def health(self) -> str:
        """Ask the server whether it is up, touching no records (the self-test's reachability
        check); returns its status word. Raises like ``push``."""
        raise NotImplementedError
