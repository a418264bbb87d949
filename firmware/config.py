"""The device configuration: one typed model loaded from TOML, backends chosen by name."""

import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from firmware import config_checks as checks
from firmware.camera.registry import BACKENDS as CAMERA_BACKENDS
from firmware.config_checks import Problem
from firmware.core.backend import Backend
from firmware.core.settings import SettingsError, build, setting
from firmware.core.settings_schema import table_lines
from firmware.errors import ConfigError, ConfigProblems
from firmware.face.registry import BACKENDS as FACE_BACKENDS
from firmware.gps.registry import BACKENDS as GPS_BACKENDS
from firmware.services import remote_policy
from firmware.services.power import MAX_SHUTDOWN_DELAY_S, PowerPolicy, SessionRules
from firmware.services.schedule import CheckinSettings
from firmware.store.registry import BACKENDS as STORE_BACKENDS
from firmware.supervisor.registry import BACKENDS as SUPERVISOR_BACKENDS
from firmware.sync.registry import BACKENDS as SYNC_BACKENDS
from firmware.ui.registry import BACKENDS as UI_BACKENDS

DEFAULT_PATH = Path("/etc/fieldcheck/device.toml")

#: Backend-chosen sections: (name, registry, default backend). The defaults are a real unit's.
SECTIONS: tuple[tuple[str, Sequence[Backend], str], ...] = (
    ("gps", GPS_BACKENDS, "serial"),
    ("store", STORE_BACKENDS, "sqlite"),
    ("sync", SYNC_BACKENDS, "null"),
    ("supervisor", SUPERVISOR_BACKENDS, "serial"),
    ("camera", CAMERA_BACKENDS, "picamera2"),
    ("face", FACE_BACKENDS, "tflite"),
    ("ui", UI_BACKENDS, "null"),
)
NOT_INSTALLED = "which is not installed: "
#: What to do about a value that does not fit its schema.
SCHEMA_HINT = "see `fieldcheck-device config schema` for the allowed values"


@dataclass(frozen=True)
class DeviceSettings:
    """Identity and storage of this unit."""

    data_dir: Path = setting(Path("/var/lib/fieldcheck"), "where records, keys and state live")
    log_level: str = setting("INFO", "logging level: DEBUG, INFO, WARNING or ERROR")
    update_root: Path = setting(Path("/opt/fieldcheck"), "the A/B install slots and the "
                                "installer's journal (`fieldcheck-device update --root`)")
    bundle_root_key: Path = setting(Path("/etc/fieldcheck/bundle-root.pub"), "the pinned "
                                    "bundle root key offered updates are checked against")


@dataclass(frozen=True)
class PolicySettings:
    """What the unit records and when; every change is itself a signed config_change event."""

    location_interval_s: float = setting(
        300.0, "seconds between location records while the fix is usable (0: no location "
        "records, the fix goes only with check-ins)"
    )
    clock_jump_s: float = setting(
        2.0, "a change of the GPS-minus-system-clock offset beyond this is a clock_jump event"
    )
    fix_max_age_s: float = setting(30.0, "oldest fix a check-in or event may carry, seconds")
    sync_interval_s: float = setting(60.0, "seconds between sync attempts when nothing is pending")
    prune_interval_s: float = setting(3600.0, "seconds between retention and storage checks")
    power: PowerPolicy = setting(
        "duty_cycled", "duty_cycled (the supervisor powers the Pi only for wakes), or always_on"
    )
    wake_interval_s: float = setting(1800.0, "duty_cycled: longest sleep between wakes, seconds")
    min_awake_s: float = setting(10.0, "duty_cycled: shortest wake, seconds")
    max_awake_s: float = setting(
        180.0, "duty_cycled: a wake gives up waiting for a fix or an upload after this"
    )
    boot_lead_s: float = setting(60.0, "duty_cycled: wake this long before a check-in slot")
    halt_delay_s: int = setting(60, "duty_cycled: seconds from the shutdown request to the cut")
    halt_command: tuple[str, ...] = setting(
        ("systemctl", "poweroff"), "duty_cycled: what halts the Pi after the shutdown request "
        "(empty: the daemon only exits)"
    )

    def __post_init__(self) -> None:
        try:
            self.session_rules()
        except ValueError as err:
            raise SettingsError(f"[policy] {err}") from None
        if not 0 < self.halt_delay_s <= MAX_SHUTDOWN_DELAY_S:
            raise SettingsError(f"[policy] halt_delay_s must be 1..{MAX_SHUTDOWN_DELAY_S}")

    def session_rules(self) -> SessionRules:
        """The duty-cycled wake rules of these settings."""
        return SessionRules(self.wake_interval_s, self.min_awake_s, self.max_awake_s,
                            self.boot_lead_s)


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
    ui: Section
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


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one config: what was built and every problem found.

    ``run`` and ``config check`` both call :func:`validate`; ``config`` is the full config when
    there is no problem. ``built`` holds each section that validated on its own, so a unit with
    a bad ``[checkin]`` can still find its data directory, store and server (safe mode).
    """

    source: str
    problems: tuple[Problem, ...]
    built: Mapping[str, Any]
    raw_sha256: str
    #: With ``for_unit``: what the unit must have that this machine lacks (runtimes, files).
    unit_needs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the config has no problem at all."""
        return not self.problems

    def config(self) -> DeviceConfig:
        """The validated config; ConfigProblems listing everything wrong otherwise."""
        if self.problems:
            raise ConfigProblems(self.source, self.problems)
        return DeviceConfig(source=self.source, **self.built)

    def essentials(self) -> "Essentials":
        """The sections safe mode runs on (see :func:`essentials_of`)."""
        return essentials_of(self)


@dataclass(frozen=True)
class Essentials:
    """What a unit needs even when its config is invalid (safe mode): its data directory,
    store, server, supervisor MCU and feedback sink."""

    device: DeviceSettings
    policy: PolicySettings
    store: Section
    sync: Section
    supervisor: Section
    ui: Section
    source: str


def essentials_of(validation: Validation) -> Essentials:
    """The sections safe mode needs: each as configured if it validated, else a safe fallback
    (defaults; no server and no feedback device when those sections are broken)."""
    built = validation.built
    if "device" not in built:
        raise ConfigProblems(validation.source, validation.problems)
    fallbacks = {"store": "sqlite", "sync": "null", "supervisor": "serial", "ui": "null"}
    sections: dict[str, Section] = {}
    for name, backends, _ in SECTIONS:
        if name in fallbacks:
            sections[name] = built.get(name) or resolve(backends, {}, name, fallbacks[name])
    return Essentials(device=built["device"], policy=built.get("policy", PolicySettings()),
                      source=validation.source, **sections)


def load(path: Path | None) -> DeviceConfig:
    """Load and validate ``path`` (TOML); ``None`` means the embedded defaults."""
    return validate(path).config()


def validate(path: Path | None, for_unit: bool = False) -> Validation:
    """Read ``path`` (None: the embedded defaults) and run every check; raises only when the
    file cannot be read or parsed at all (ConfigError).

    ``for_unit`` checks a unit's file on another machine (a technician's laptop): a runtime or
    a file only the unit has is listed in ``unit_needs`` instead of being a problem.
    """
    if path is None:
        return validate_mapping({}, "<embedded defaults>", for_unit=for_unit)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} not found", "create it or pass --config") from err
    except IsADirectoryError as err:
        raise ConfigError(f"config path {path} is a folder", "pass the .toml file") from err
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}",
                          "check its permissions (the daemon's user must read it)") from err
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}",
                          "fix the line it names") from err
    # The server's signed set_policy changes, for the keys this file lets it change.
    data = remote_policy.apply(data, DeviceSettings().data_dir)
    return validate_mapping(data, str(path), hashlib.sha256(raw).hexdigest(), for_unit)


def from_mapping(data: Mapping[str, Any], source: str) -> DeviceConfig:
    """Validate a parsed config mapping; unknown sections and keys are errors."""
    return validate_mapping(data, source).config()


def validate_mapping(data: Mapping[str, Any], source: str, raw_sha256: str = "",
                     for_unit: bool = False) -> Validation:
    """Build every section on its own and run every check; collect all problems (see
    :func:`validate` for ``for_unit``)."""
    problems: list[Problem] = []
    known = {"device", "policy", "checkin", *(name for name, _, _ in SECTIONS)}
    for name in sorted(set(data) - known):
        problems.append(Problem(name, f"unknown section [{name}]",
                                f"remove it; known sections: {', '.join(sorted(known))}"))
    built: dict[str, Any] = {}
    plain = (("device", DeviceSettings), ("policy", PolicySettings),
             ("checkin", CheckinSettings))
    for name, cls in plain:
        _build_into(built, problems, name, functools.partial(build, cls, data.get(name, {}), name))
    for name, backends, default in SECTIONS:
        _build_into(built, problems, name, functools.partial(
            resolve, backends, data.get(name, {}), name, default, not for_unit))
        if for_unit:
            problems += _runtimes_of(backends, data.get(name, {}), name, default)
    for name, value in built.items():
        problems += checks.problems_of(name, value)
    for name in sorted(known - set(built)):
        problems += checks.raw_problems(name, data.get(name, {}))
    if not for_unit:
        return Validation(source, tuple(problems), built, raw_sha256)
    needs = tuple(dict.fromkeys(p.on_unit for p in problems if p.on_unit))
    return Validation(source, tuple(p for p in problems if not p.on_unit), built, raw_sha256,
                      needs)


def _runtimes_of(backends: Sequence[Backend], table: Any, where: str,
                 default: str) -> list[Problem]:
    """The chosen backend's runtimes missing here, as problems only the unit can settle."""
    name = table.get("type", default) if isinstance(table, Mapping) else default
    backend = next((b for b in backends if b.name == name), None)
    if backend is None:
        return []  # resolve() reports the unknown type
    install = backend.install or "install the fieldcheck[device] extra"
    return [Problem(where, f"backend {name!r} needs {module}", install,
                    on_unit=f"runtime {module} ([{where}] type = {name!r}): {install}")
            for module in backend.requires if importlib.util.find_spec(module) is None]


def _build_into(built: dict[str, Any], problems: list[Problem], name: str,
                make: Callable[[], Any]) -> None:
    try:
        built[name] = make()
    except SettingsError as err:
        problems += [_settings_problem(name, text) for text in err.problems]
    except ConfigError as err:
        problems.append(Problem(name, str(err.args[0]), err.hint or SCHEMA_HINT))


def _settings_problem(section: str, text: str) -> Problem:
    """A schema message as a Problem, keyed by its ``section.key`` when it names one."""
    missing, sep, install = text.partition(NOT_INSTALLED)
    if sep:
        return Problem(section, f"{missing}which is not installed", install)
    head, sep, rest = text.partition(": ")
    if sep and head.startswith(f"{section}."):
        return Problem(head, rest, SCHEMA_HINT)
    return Problem(section, text, SCHEMA_HINT)


def resolve(
    backends: Sequence[Backend], table: Mapping[str, Any], where: str, default: str,
    runtimes_here: bool = True,
) -> Section:
    """Pick a backend by the table's ``type`` and build its own config from the rest.

    ``runtimes_here=False`` (checking a unit's file elsewhere) skips the installed-runtime
    check; the backend's module itself must still import here to check its keys.
    """
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
    missing = [m for m in backend.requires if not _installed(m)]
    if missing and runtimes_here:
        raise SettingsError(
            f"[{where}] backend {name!r} needs {', '.join(missing)}, {NOT_INSTALLED}"
            f"{backend.install or 'install the fieldcheck[device] extra'}"
        )
    try:
        module = importlib.import_module(backend.module)
    except ModuleNotFoundError as err:  # only when runtimes_here is False: they were checked
        raise SettingsError(f"[{where}] backend {name!r} cannot be checked on this machine: "
                            f"its module needs {err.name}; install it here to check the keys"
                            ) from err
    config = build(module.Config, rest, where)
    return Section(backend=backend, module=module, config=config)


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported (a dotted name whose parent is missing is not)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def schema() -> str:
    """Every section and backend with its settings as TOML: defaults, kinds and meanings."""
    return "\n\n".join(text for _, _, text in schema_blocks())


def schema_blocks() -> list[tuple[str, str, str]]:
    """(section, backend name or "", TOML text) for every section and every backend of one.

    Each text is valid TOML on its own and builds the defaults it shows.
    """
    blocks = [("", "", SCHEMA_HEAD)]
    for name, cls in (("device", DeviceSettings), ("policy", PolicySettings),
                      ("checkin", CheckinSettings)):
        blocks.append((name, "", "\n".join(table_lines(name, cls, _first_line(cls)))))
    for where, backends, default in SECTIONS:
        for backend in backends:
            module = importlib.import_module(backend.module)
            chosen = " (the default)" if backend.name == default else ""
            needs = f"; needs {', '.join(backend.requires)}" if backend.requires else ""
            lines = table_lines(where, module.Config,
                                f'type = "{backend.name}"{chosen}: {backend.summary}{needs}')
            lines.insert(2, f'type = "{backend.name}"')
            blocks.append((where, backend.name, "\n".join(lines)))
    return blocks


SCHEMA_HEAD = (
    "# fieldcheck-device configuration (TOML, default " + str(DEFAULT_PATH) + ").\n"
    "# Every key with its default value; a comment above each key says what it means.\n"
    "# A backend-chosen section ([gps], [store], ...) is shown once per backend: pick one\n"
    "# with `type` and use only that backend's keys. Omitted keys take the default shown."
)


def _first_line(cls: type[Any]) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0].replace("``", "") if doc else ""
