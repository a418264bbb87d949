"""The unit's config file as provisioning writes it: a base TOML merged with what provision sets.

Only the shapes a device config uses are written: tables of text, numbers, booleans and lists of
text (the unit's own ``config check`` validates the result).
"""

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from host_tools.provision.target import ProvisionError

Sections = dict[str, dict[str, Any]]


def read_base(path: Path | None) -> Sections:
    """The technician's base config (hardware sections), or nothing."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ProvisionError(f"cannot read the base config {path}: {err}",
                             "give a TOML file with the unit's hardware sections") from err
    if not all(isinstance(value, dict) for value in data.values()):
        raise ProvisionError(f"{path}: every top-level entry must be a [section]")
    return {name: dict(values) for name, values in data.items()}


def merge(base: Sections, overrides: Mapping[str, Mapping[str, Any]]) -> Sections:
    """``base`` with each override key set (a section's other keys kept)."""
    merged = {name: dict(values) for name, values in base.items()}
    for name, values in overrides.items():
        merged.setdefault(name, {}).update(values)
    return merged


def render(sections: Sections) -> str:
    """The sections as TOML, in a stable order (the same inputs give the same bytes)."""
    lines = ["# Written by `fieldcheck provision`; change it with provision --force-step config."]
    for name in sorted(sections):
        lines.append(f"\n[{name}]")
        lines += [f"{key} = {_value(value, f'{name}.{key}')}"
                  for key, value in sorted(sections[name].items())]
    return "\n".join(lines) + "\n"


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))  # a TOML basic string is a JSON string for these
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item, where) for item in value) + "]"
    raise ProvisionError(f"{where}: cannot write a {type(value).__name__} value",
                         "use text, numbers, true/false or lists in the base config")
