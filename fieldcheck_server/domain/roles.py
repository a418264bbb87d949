"""Who acts on the server: the four operator roles and the principal a request is made by."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What an operator account (or an API token) may do."""

    #: Accounts, tokens, every view.
    ADMIN = "admin"
    #: The people on their own caseload and those people's records.
    OFFICER = "officer"
    #: Devices: register, revoke, fleet health; no personal timelines.
    TECHNICIAN = "technician"
    #: Read-only: the audit log and what was done.
    AUDITOR = "auditor"


def parse_role(text: str) -> Role:
    """A role by name; the error names the choices."""
    try:
        return Role(text)
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise ValueError(f"unknown role {text!r}: choose one of {choices}") from None


@dataclass(frozen=True)
class Principal:
    """The authenticated operator behind a request or a command.

    ``user_id`` 0 means no account: the server's own command line (``cli:LOGIN``) or code
    (``system``). ``token`` is the API token's name when the request came with one."""

    user_id: int
    username: str
    role: Role
    token: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"{self.username} (token {self.token})" if self.token else self.username


def cli_principal(login: str) -> Principal:
    """Someone at the server's command line: they hold the database, so they act as admin."""
    return Principal(0, f"cli:{login}", Role.ADMIN)


#: Code acting on its own (bench, tests, migrations), never a person.
SYSTEM = Principal(0, "system", Role.ADMIN)
