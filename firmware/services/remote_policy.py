"""Policy changes the server made with signed ``set_policy`` commands, kept in the data directory.

``remote_policy.json`` (0600, replaced atomically) maps ``section.key`` to a value. It is laid
over the config file when the config is read, for the keys the config file itself lets the server
change (``[sync] remote_keys``), so the technician's file stays the authority on what may change.
"""

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from firmware.errors import StoreError
from firmware.private_file import replace_private
from firmware.sync.base import DEFAULT_REMOTE_KEYS

logger = logging.getLogger(__name__)

OVERLAY_FILE = "remote_policy.json"
Value = str | int | float | bool


def load(data_dir: Path) -> dict[str, Value]:
    """The stored changes ({} when there are none or the file is unreadable, which is logged)."""
    path = data_dir / OVERLAY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        logger.error("ignoring the server's policy changes in %s: %s", path, err)
        return {}
    if not isinstance(data, dict):
        logger.error("ignoring the server's policy changes in %s: not a JSON object", path)
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str | int | float | bool)}


def save(data_dir: Path, changes: Mapping[str, Value]) -> None:
    """Store the complete set of changes durably (before the change is reported done)."""
    path = data_dir / OVERLAY_FILE
    try:
        replace_private(path, json.dumps(dict(changes), sort_keys=True).encode("utf-8"))
    except OSError as err:
        raise StoreError(f"cannot write {path}: {err.strerror}",
                         "check free space and permissions of the data directory") from err


def overlay(data: Mapping[str, Any], changes: Mapping[str, Value],
            allowed: tuple[str, ...]) -> dict[str, Any]:
    """``data`` (a parsed config) with the allowed ``changes`` laid over it."""
    merged: dict[str, Any] = {name: dict(table) if isinstance(table, Mapping) else table
                              for name, table in data.items()}
    for dotted, value in changes.items():
        section, _, key = dotted.partition(".")
        if dotted not in allowed or not key:
            logger.warning("server policy change %s is not in [sync] remote_keys; ignored", dotted)
            continue
        table = merged.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = value
    return merged


def allowed_keys(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys the config file lets the server change."""
    sync = data.get("sync", {})
    keys = sync.get("remote_keys", DEFAULT_REMOTE_KEYS) if isinstance(sync, Mapping) else ()
    return tuple(str(k) for k in keys) if isinstance(keys, list | tuple) else ()


def apply(data: Mapping[str, Any], default_dir: Path) -> dict[str, Any]:
    """The parsed config with the server's stored, allowed changes applied."""
    device = data.get("device", {})
    data_dir = device.get("data_dir", str(default_dir)) if isinstance(device, Mapping) else None
    if not isinstance(data_dir, str):
        return dict(data)
    changes = load(Path(data_dir))
    return overlay(data, changes, allowed_keys(data)) if changes else dict(data)
