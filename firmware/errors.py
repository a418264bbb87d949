"""One error tree for the device; every error carries a hint a technician can act on."""

from typing import Any


class DeviceError(Exception):
    """Base of every error the firmware raises on purpose.

    ``hint`` says what to check or do, in words a technician can act on.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class ConfigError(DeviceError):
    """The configuration file or a value in it is wrong."""


class GpsError(DeviceError):
    """The GPS receiver or its port cannot be used."""


class CameraError(DeviceError):
    """The camera cannot be opened or produced no usable frame."""


class VerifyError(DeviceError):
    """Face verification cannot run (model missing, mismatched, or unreadable input)."""


class StoreError(DeviceError):
    """The record store cannot commit or read records."""


class SyncError(DeviceError):
    """Records cannot be delivered to the server."""


class SupervisorError(DeviceError):
    """The supervisor microcontroller link failed."""


class ConfigProblems(ConfigError):
    """A configuration with one or more problems, all listed at once.

    ``problems`` are :class:`firmware.config_checks.Problem` items (section.key, what is wrong,
    what to do); ``str()`` puts one per line.
    """

    def __init__(self, source: str, problems: "tuple[Any, ...]") -> None:
        count = len(problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}",
                         "fix each line above, then run `fieldcheck-device config check FILE`")
        self.source = source
        self.problems = problems

    def __str__(self) -> str:
        lines = [f"{self.args[0]}:"] + [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


class InstanceLocked(DeviceError):
    """Another process holds the unit's single-instance lock on the data directory."""
