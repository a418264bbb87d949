"""The checks a built config must pass beyond its types, as one table; every problem at once.

``config check`` and the daemon's ``run`` both go through :func:`firmware.config.validate`, which
builds each section and then asks :func:`problems_of` about it, so they cannot disagree.
"""

import dataclasses
import hashlib
import importlib.util
import logging
import random
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from firmware.errors import ConfigError
from firmware.services.commands import read_command_key
from firmware.services.schedule import CheckinSettings, Schedule, parse_hhmm
from firmware.supervisor.backends.sim import parse_script

logger = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Numeric settings with these name endings are durations, sizes or counts of time: never < 0.
NON_NEGATIVE_SUFFIXES = ("_s", "_ms", "_min", "_days", "_bytes", "_px", "_percent")
#: Policy intervals that drive loops: 0 would spin (location_interval_s = 0: only with check-ins).
POSITIVE_POLICY = ("sync_interval_s", "prune_interval_s")
TFLITE_RUNTIMES = {"auto": ("ai_edge_litert", "tflite_runtime"),
                   "ai_edge_litert": ("ai_edge_litert",), "tflite_runtime": ("tflite_runtime",)}
TFLITE_INSTALL = ("pip install ai-edge-litert (part of the fieldcheck[device] extra); on "
                  "32-bit Raspberry Pi OS: pip install tflite-runtime==2.14 'numpy<2'")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: where (``section.key``), what, and what to do."""

    where: str
    message: str
    fix: str
    #: Set when the problem is only that something the unit itself has (a runtime, a file on
    #: its disk) is missing here: ``config check --for-unit`` lists it instead of failing.
    on_unit: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message} -> {self.fix}"


Check = Callable[[Any], Iterator[Problem]]


def _numbers(where: str, settings: Any) -> Iterator[Problem]:
    """Every duration/size setting, nested tables included, must not be negative."""
    if not dataclasses.is_dataclass(settings):
        return
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        key = f"{where}.{field.name}"
        if dataclasses.is_dataclass(value):
            yield from _numbers(key, value)
        elif (isinstance(value, int | float) and not isinstance(value, bool) and value < 0
              and field.name.endswith(NON_NEGATIVE_SUFFIXES)):
            yield Problem(key, f"{value} is negative", "use 0 or a positive number")


def _device(settings: Any) -> Iterator[Problem]:
    if str(settings.log_level).upper() not in LOG_LEVELS:
        yield Problem("device.log_level", f"{settings.log_level!r} is not a log level",
                      f"use one of {', '.join(LOG_LEVELS)}")


def _policy(settings: Any) -> Iterator[Problem]:
    for name in POSITIVE_POLICY:
        if getattr(settings, name) <= 0:
            yield Problem(f"policy.{name}", f"{getattr(settings, name)} is not positive",
                          "use a number of seconds above 0")


def _checkin(settings: CheckinSettings) -> Iterator[Problem]:
    found = False
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        found = True
        yield Problem("checkin.timezone", f"{settings.timezone!r} is not a known time zone",
                      'use an IANA name such as "Europe/Lisbon" or "America/New_York"')
    times = [(f"times[{i}]", t) for i, t in enumerate(settings.times)]
    quiet = [(k, t) for k, t in (("quiet_start", settings.quiet_start),
                                 ("quiet_end", settings.quiet_end)) if t]
    for key, text in [*times, ("day_start", settings.day_start), ("day_end", settings.day_end),
                      *quiet]:
        try:
            parse_hhmm(text, key)
        except ConfigError:
            found = True
            yield Problem(f"checkin.{key}", f"{text!r} is not a time of day",
                          'write it as "HH:MM", e.g. "09:30"')
    if found:
        return
    try:  # the schedule's own consistency rules (windows, grace), exactly as the daemon builds it
        Schedule(settings, random.Random(0))
    except ConfigError as err:
        yield Problem("checkin", str(err.args[0]), err.hint or "see `config schema`")


def _existing(key: str, path: Path, what: str, folder: bool = False) -> Iterator[Problem]:
    ok = path.is_dir() if folder else path.is_file()
    if not ok:
        kind = "folder" if folder else "file"
        state = "is missing" if not path.exists() else f"is not a {kind}"
        yield Problem(key, f"{path} {state}", f"put the {what} there or change {key}",
                      on_unit=f"{kind} {path} ({key}: {what})")


def _command_key(config: Any) -> Iterator[Problem]:
    if not config.command_key:
        return
    try:
        read_command_key(Path(config.command_key))
    except ConfigError as err:
        yield Problem("sync.command_key", str(err.args[0]), err.hint)


def _https(config: Any) -> Iterator[Problem]:
    yield from _command_key(config)
    parts = urlsplit(config.url)
    if parts.scheme != "https" or not parts.netloc:
        yield Problem("sync.url", f"{config.url!r} is not an https:// URL with a host",
                      "set url to the address `fieldcheck server run` printed, e.g. "
                      "https://10.0.0.5:8443")
    wanted = config.fingerprint.replace(":", "").strip().lower()
    if len(wanted) != 64 or any(c not in "0123456789abcdef" for c in wanted):
        yield Problem("sync.fingerprint", f"{config.fingerprint!r} is not a SHA-256 "
                      "fingerprint (64 hex digits)", "copy what `fieldcheck server init` printed")
        wanted = ""
    cert: Path = config.server_cert
    missing = list(_existing("sync.server_cert", cert, "server certificate (server.crt)"))
    yield from missing
    if missing or not wanted:
        return
    try:
        der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    except (OSError, ValueError) as err:
        yield Problem("sync.server_cert", f"{cert} is not a readable PEM certificate ({err})",
                      "copy server.crt from the server's directory again")
        return
    if hashlib.sha256(der).hexdigest() != wanted:
        yield Problem("sync.fingerprint", f"{cert} does not have this fingerprint",
                      "copy server.crt again and set fingerprint to what `fieldcheck server "
                      "init` printed")


def _tflite(config: Any) -> Iterator[Problem]:
    yield from _existing("face.models_dir", Path(config.models_dir) / "manifest.json",
                         "model folder with manifest.json (`make models`)")
    runtimes = TFLITE_RUNTIMES.get(config.runtime, ())
    if runtimes and not any(importlib.util.find_spec(m) is not None for m in runtimes):
        yield Problem("face.runtime", f"no TFLite runtime for {config.runtime!r} is installed",
                      TFLITE_INSTALL, on_unit=f"runtime {' or '.join(runtimes)} (face.runtime): "
                      f"{TFLITE_INSTALL}")


def _sim_supervisor(config: Any) -> Iterator[Problem]:
    for i, line in enumerate(config.script):
        try:
            parse_script((line,))
        except ConfigError as err:
            yield Problem(f"supervisor.script[{i}]", str(err.args[0]), err.hint)


def _gps_replay(config: Any) -> Iterator[Problem]:
    if not config.path:
        yield Problem("gps.path", "no log file set", "set path to a recorded NMEA log")
        return
    yield from _existing("gps.path", Path(config.path), "recorded NMEA log")


def _ui_report(config: Any) -> Iterator[Problem]:
    if config.path != "-":
        yield from _existing("ui.path", Path(config.path).absolute().parent,
                             "folder of the report file", folder=True)


#: (section, backend name or "" for a plain section, check).
CHECKS: tuple[tuple[str, str, Check], ...] = (
    ("device", "", _device),
    ("policy", "", _policy),
    ("checkin", "", _checkin),
    ("sync", "https", _https),
    ("face", "tflite", _tflite),
    ("face", "replay", lambda c: _existing("face.recording", c.recording, "face recording")),
    ("gps", "replay", _gps_replay),
    ("supervisor", "sim", _sim_supervisor),
    ("ui", "report", _ui_report),
)


def raw_problems(section: str, table: Any) -> list[Problem]:
    """For a section that did not build: the checks that need no built value (negative
    durations and sizes), so one wrong type does not hide the rest of its table."""
    if not isinstance(table, dict):
        return []
    found = []
    for key, value in table.items():
        where = f"{section}.{key}"
        if isinstance(value, dict):
            found += raw_problems(where, value)
        elif (isinstance(value, int | float) and not isinstance(value, bool) and value < 0
              and str(key).endswith(NON_NEGATIVE_SUFFIXES)):
            found.append(Problem(where, f"{value} is negative", "use 0 or a positive number"))
    return found


def problems_of(section: str, value: Any) -> list[Problem]:
    """Every problem of one built section (a settings dataclass or a backend ``Section``)."""
    backend = getattr(getattr(value, "backend", None), "name", "")
    settings = value.config if backend else value
    found = list(_numbers(section, settings))
    for name, wanted, check in CHECKS:
        if name == section and wanted == backend:
            found += check(settings)
    return found
