"""Typed, described settings: frozen dataclasses built from plain mappings, unknown keys refused.

Every config section (the device config and each backend's own) is a frozen dataclass whose
fields are declared with :func:`setting`, so the CLI can print the whole schema with help texts
(:mod:`firmware.core.settings_schema`).
"""

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A settings mapping does not fit its schema; the message names the key and the fix.

    ``problems`` holds every problem found (one message each) when several keys are wrong, so a
    technician sees them all at once; ``str()`` joins them.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = problems or (message,)


def setting(default: Any, help: str, shown: Any = None) -> Any:  # noqa: A002 - reads best
    """Declare a config field with its default and a one-line description.

    ``shown`` is the default the printed schema documents when ``default`` depends on where the
    code runs (a development checkout's models folder instead of the unit's installed one).
    """
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    metadata = {"help": help} if shown is None else {"help": help, "shown": shown}
    return dataclasses.field(default=default, metadata=metadata)


def build(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """Build ``cls`` from ``data``, converting simple types and refusing unknown keys.

    Every wrong key of the table is reported in one :class:`SettingsError` (``problems``).
    """
    if not isinstance(data, Mapping):
        raise SettingsError(f"[{where}] must be a table of settings, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    problems: list[str] = []
    unknown = sorted(set(data) - names)
    if unknown:
        problems.append(f"[{where}] unknown setting(s) {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(names))}")
    values = {}
    for key, value in data.items():
        if key not in names:
            continue
        try:
            values[key] = _convert(value, hints[key], f"{where}.{key}")
        except SettingsError as err:
            problems.extend(err.problems)
    if problems:
        raise SettingsError("; ".join(problems), tuple(problems))
    return cls(**values)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where)
            except SettingsError as err:
                errors.append(str(err))
        raise SettingsError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise SettingsError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise SettingsError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise SettingsError(f"{where}: expected text, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise SettingsError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value, where)
    raise SettingsError(f"{where}: unsupported setting type {hint!r}")
