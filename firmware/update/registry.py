"""The update settings and the service managers and slot setups they name."""

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_protocol.keyfile import parse_public_key
from firmware.update.backends import process, systemd
from firmware.update.base import ServiceManager, UpdateError
from firmware.update.environment import SETUPS, setup_for
from firmware.update.installer import Installer, Step
from firmware.update.slots import JOURNAL_FILE, Slots

__all__ = ["JOURNAL_FILE", "PENDING_BUNDLE", "SERVICES", "UpdateSettings", "installer_for",
           "read_root_key", "service_for"]

SERVICES = ("systemd", "process", "none")
#: Where the daemon queues a verified offered bundle, in its data dir, for the root installer.
PENDING_BUNDLE = "updates/pending.bundle"


@dataclass(frozen=True)
class UpdateSettings:
    """Where slots live, which root key is pinned, how the daemon is restarted and checked."""

    root: Path = Path("/opt/fieldcheck")
    root_key: Path = Path("/etc/fieldcheck/bundle-root.pub")
    service: str = "systemd"  # systemd | process (bench, tests) | none (no restart)
    unit: str = "fieldcheck-device.service"
    daemon_command: str = "{current}/venv/bin/fieldcheck-device run"  # for service = process
    setup: str = "venv"  # venv | files
    extras: str = "device"  # the fieldcheck extra a slot's venv installs ("" for none)
    health_timeout_s: float = 90.0
    settle_s: float = 10.0



def read_root_key(path: Path) -> bytes:
    """The pinned root public key (raw 32 bytes) from a PEM file or 64 hex digits."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UpdateError("no_root_key", f"the bundle root key {path} cannot be read: "
                          f"{err.strerror}", "copy PREFIX-root.pub from `fieldcheck bundle "
                          "keygen` to the unit (or pass --root-key)") from err
    try:
        return parse_public_key(data)
    except ValueError as err:
        raise UpdateError("no_root_key", f"{path}: {err}",
                          "copy PREFIX-root.pub from `fieldcheck bundle keygen`") from None


def service_for(settings: UpdateSettings) -> ServiceManager | None:
    """The configured service manager (None: the installer restarts nothing)."""
    if settings.service == "systemd":
        return systemd.create(systemd.Config(settings.unit, settings.settle_s))
    if settings.service == "process":
        return process.create(process.Config(tuple(shlex.split(settings.daemon_command)),
                                             settings.root, settings.settle_s))
    if settings.service == "none":
        return None
    raise UpdateError("settings", f"unknown service manager {settings.service!r}",
                      f"use one of {', '.join(SERVICES)}")


def installer_for(settings: UpdateSettings, step: Step | None = None,
                  now: Callable[[], datetime] | None = None) -> Installer:
    """The installer the settings describe, trusting the pinned root key (``now``: the clock)."""
    if settings.setup not in SETUPS:
        raise UpdateError("settings", f"unknown slot setup {settings.setup!r}",
                          f"use one of {', '.join(SETUPS)}")
    kwargs = {} if step is None else {"step": step}
    return Installer(Slots(settings.root), lambda: read_root_key(settings.root_key),
                     service_for(settings), setup_for(settings.setup, settings.extras),
                     now or (lambda: datetime.now(UTC)), settings.health_timeout_s, **kwargs)
