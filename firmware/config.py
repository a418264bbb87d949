"""The device configuration: one typed model loaded from TOML, backends chosen by name."""

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from firmware.camera.registry import BACKENDS as CAMERA_BACKENDS
from firmware.core.backend import Backend
from firmware.core.settings import SettingsError, build, describe, setting
from firmware.errors import ConfigError
from firmware.face.registry import BACKENDS as FACE_BACKENDS
from firmware.gps.registry import BACKENDS as GPS_BACKENDS
from firmware.services.schedule import CheckinSettings
from firmware.store.registry import BACKENDS as STORE_BACKENDS
from firmware.supervisor.registry import BACKENDS as SUPERVISOR_BACKENDS
from firmware.sync.registry import BACKENDS as SYNC_BACKENDS

DEFAULT_PATH = Path("/etc/fieldcheck/device.toml")

#: Backend-chosen sections: (name, registry, default backend). The defaults are a real unit's.
SECTIONS: tuple[tuple[str, Sequence[Backend], str], ...] = (
    ("gps", GPS_BACKENDS, "serial"),
    ("store", STORE_BACKENDS, "sqlite"),
    ("sync", SYNC_BACKENDS, "null"),
    ("supervisor", SUPERVISOR_BACKENDS, "serial"),
    ("camera", CAMERA_BACKENDS, "picamera2"),
    ("face", FACE_BACKENDS, "tflite"),
)


@dataclass(frozen=True)
class DeviceSettings:
    """Identity and storage of this unit."""

    data_dir: Path = setting(Path("/var/lib/fieldcheck"), "where records, keys and state live")
    log_level: str = setting("INFO", "logging level: DEBUG, INFO, WARNING or ERROR")


@dataclass(frozen=True)
class PolicySettings:
    """What the unit records and when; every change is itself a signed config_change event."""

    location_interval_s: float = setting(
        300.0, "seconds between location records while the fix is usable"
    )
    clock_jump_s: float = setting(
        2.0, "a change of the GPS-minus-system-clock offset beyond this is a clock_jump event"
    )
    fix_max_age_s: float = setting(30.0, "oldest fix a check-in or event may carry, seconds")
    sync_interval_s: float = setting(60.0, "seconds between sync attempts when nothing is pending")
    prune_interval_s: float = setting(3600.0, "seconds between retention and storage checks")


@dataclass(frozen=True)
class Section:
    """A backend-chosen section: the registry entry, its module and its built config."""

    backend: Backend
    module: ModuleType
    config: Any


@dataclass(frozen=True)
class DeviceConfig:
    """The whole device configuration, validated."""

    device: DeviceSettings
    policy: PolicySettings
    checkin: CheckinSettings
    gps: Section
    store: Section
    sync: Section
    supervisor: Section
    camera: Section
    face: Section
    source: str = field(default="<embedded defaults>")

    def digest(self) -> str:
        """SHA-256 of the effective settings (defaults included), to audit config changes."""
        effective: dict[str, Any] = {
            "device": dataclasses.asdict(self.device),
            "policy": dataclasses.asdict(self.policy),
            "checkin": dataclasses.asdict(self.checkin),
        }
        for name, _, _ in SECTIONS:
            section: Section = getattr(self, name)
            effective[name] = {"type": section.backend.name,
                               **dataclasses.asdict(section.config)}
        text = json.dumps(effective, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def chosen_path(path: Path | None) -> Path | None:
    """The config a command uses: ``path`` if given, else DEFAULT_PATH if it exists, else None
    (the embedded defaults)."""
    if path is None and DEFAULT_PATH.exists():
        return DEFAULT_PATH
    return path


def load(path: Path | None) -> DeviceConfig:
    """Load and validate ``path`` (TOML); ``None`` means the embedded defaults."""
    if path is None:
        return from_mapping({}, "<embedded defaults>")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} not found", "create it or pass --config") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err
    return from_mapping(data, str(path))


def from_mapping(data: Mapping[str, Any], source: str) -> DeviceConfig:
    """Validate a parsed config mapping; unknown sections and keys are errors."""
    known = {"device", "policy", "checkin", *(name for name, _, _ in SECTIONS)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {', '.join(unknown)}",
            f"known sections: {', '.join(sorted(known))}",
        )
    try:
        device = build(DeviceSettings, data.get("device", {}), "device")
        policy = build(PolicySettings, data.get("policy", {}), "policy")
        checkin = build(CheckinSettings, data.get("checkin", {}), "checkin")
        sections = {
            name: resolve(backends, data.get(name, {}), name, default)
            for name, backends, default in SECTIONS
        }
    except SettingsError as err:
        raise ConfigError(f"{source}: {err}") from err
    return DeviceConfig(device=device, policy=policy, checkin=checkin, source=source, **sections)


def resolve(
    backends: Sequence[Backend], table: Mapping[str, Any], where: str, default: str
) -> Section:
    """Pick a backend by the table's ``type`` and build its own config from the rest."""
    if not isinstance(table, Mapping):
        raise SettingsError(f"[{where}] must be a table")
    rest = dict(table)
    name = rest.pop("type", default)
    by_name = {b.name: b for b in backends}
    if name not in by_name:
        raise SettingsError(
            f"[{where}] type = {name!r} is not a known backend; choose one of "
            f"{', '.join(sorted(by_name))}"
        )
    backend = by_name[name]
    missing = [m for m in backend.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise SettingsError(
            f"[{where}] backend {name!r} needs {', '.join(missing)}, which is not installed: "
            f"{backend.install or 'install the fieldcheck[device] extra'}"
        )
    module = importlib.import_module(backend.module)
    config = build(module.Config, rest, where)
    return Section(backend=backend, module=module, config=config)


def schema() -> str:
    """Every section and backend with its settings, types, defaults and help, as text."""
    lines = ["[device]", *_rows(DeviceSettings), "", "[policy]", *_rows(PolicySettings),
             "", "[checkin]", *_rows(CheckinSettings)]
    for where, backends, _ in SECTIONS:
        for backend in backends:
            lines.append("")
            lines.append(f'[{where}]  type = "{backend.name}"  # {backend.summary}')
            module = importlib.import_module(backend.module)
            lines += _rows(module.Config)
    return "\n".join(lines)


def _rows(cls: type[Any]) -> list[str]:
    return [
        f"  {name} ({kind}, default {default!r}): {text}"
        for name, kind, default, text in describe(cls)
    ]
