"""The settings schema as TOML a technician can copy: every key with its default and meaning.

Each settings dataclass becomes a TOML table: one comment line per key (what it means and what
kind of value it takes), then ``key = default`` as TOML. A nested settings dataclass (the face
backend's ``detector`` and ``gates``) becomes a sub-table ``[face.detector]`` with the meaning of
each of its keys. A key without a default (``None``) is shown commented out.
"""

import dataclasses
import math
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Field metadata key: the default to document when the declared one depends on where the code
#: runs (a development checkout), so the schema shows what an installed unit uses.
SHOWN = "shown"


def toml_value(value: Any) -> str:
    """``value`` written as a TOML value (strings quoted, booleans lower case, tuples as arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str | Path):
        return _toml_string(str(value))
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    body = "".join(escapes.get(c, c if c.isprintable() else f"\\u{ord(c):04x}") for c in text)
    return f'"{body}"'


def kind_of(hint: Any) -> str:
    """What kind of value a type hint takes, in words (``whole number``, ``list of text``)."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(toml_value(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        kinds = [kind_of(a) for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(kinds) + ", optional"
    if origin is tuple:
        return f"list of {kind_of(typing.get_args(hint)[0])}"
    names = {bool: "true or false", int: "whole number", float: "number", str: "text",
             Path: "path"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def shown_default(field: "dataclasses.Field[Any]") -> Any:
    """The default the schema documents: the declared one, or its ``shown`` replacement."""
    return field.metadata.get(SHOWN, field.default)


def table_lines(table: str, cls: type[Any], note: str = "") -> list[str]:
    """``[table]`` with every key of ``cls``; nested settings follow as ``[table.key]``."""
    hints = typing.get_type_hints(cls)
    lines = [f"# {note}"] if note else []
    lines.append(f"[{table}]")
    nested: list[tuple[str, type[Any], str]] = []
    for field in dataclasses.fields(cls):
        hint, text = hints[field.name], field.metadata.get("help", "")
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            nested.append((field.name, hint, text))
            continue
        lines += list(_key_lines(field, hint, text))
    for name, sub, text in nested:
        lines += ["", *table_lines(f"{table}.{name}", sub, text)]
    return lines


def _key_lines(field: "dataclasses.Field[Any]", hint: Any, text: str) -> Iterator[str]:
    yield f"# {text} ({kind_of(hint)})" if text else f"# ({kind_of(hint)})"
    value = shown_default(field)
    if value is None:
        yield f"# {field.name} = (not set)"
    else:
        yield f"{field.name} = {toml_value(value)}"
