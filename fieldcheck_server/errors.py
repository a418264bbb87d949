"""The server's error tree: domain and data-layer code raise these; the API maps them to HTTP."""

from fieldcheck_protocol.wire import ErrorCode


class ServerError(Exception):
    """Anything the server refuses or cannot do, with a message a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(ServerError):
    """A request refused as a whole, with its wire code (the API layer picks the status).

    ``proven`` is True only when the request signature verified with a registered, unrevoked
    device's key: then the refused body is kept as evidence; otherwise it is only counted."""

    def __init__(
        self, code: ErrorCode, message: str, device_id: str | None = None, proven: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.device_id = device_id
        self.proven = proven


class RegistryError(ServerError):
    """A registry command that cannot be carried out (bad key, unknown or revoked unit)."""


class DatabaseUnavailable(ServerError):
    """The database cannot be reached or opened; the message says where and what to check."""


class MigrationError(ServerError):
    """The database schema cannot be brought to the version this server needs."""


class RegistryConflict(RegistryError):
    """A unit is already registered with another key, or was revoked: registering again is no
    fix (the API answers 409)."""


class AccountError(ServerError):
    """An account, session or token command that cannot be carried out (the message says why)."""


class AccessDenied(ServerError):
    """A login, session or token that does not authenticate (the message is safe to show)."""


class CaseworkError(ServerError):
    """A casework request that cannot be carried out (unknown person, device in use, bad zone)."""


class Forbidden(ServerError):
    """The caller's role or caseload does not cover what it asked for."""


class CaseNotFound(CaseworkError):
    """No such person or review item, or none the caller may see (the two look the same)."""


class CaseConflict(CaseworkError):
    """The request contradicts what is recorded (a decision made already, a device in use)."""
