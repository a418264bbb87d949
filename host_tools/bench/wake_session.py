"""One real wake of a duty-cycled unit, and the ``power`` events its wakes sent the server.

Shared by the ``power`` bench section and the demo's duty-cycled day: the daemon runs as its own
process until it asks the (simulated) supervisor for its sleep and exits by itself.
"""

import json
import time
from pathlib import Path
from typing import Any

from host_tools.bench.processes import Child, python_module, run_checked


class WakeFailed(RuntimeError):
    """A wake that did not end by itself with exit 0 (the message says how it ended)."""


def run_wake(config: Path, timeout_s: float) -> float:
    """Run the daemon on ``config`` until it ends its wake; returns the wake's wall time."""
    began = time.monotonic()
    device = Child("fieldcheck-device", python_module("firmware", "run", "--config",
                                                      str(config)))
    try:
        device.proc.wait(timeout=timeout_s)
    finally:
        device.stop()
    if device.proc.returncode != 0:
        raise WakeFailed(f"a duty-cycled wake failed: {device.describe_failure()}")
    return time.monotonic() - began


def power_events(server_dir: Path, device_id: str,
                 sleeps_only: bool = False) -> list[dict[str, Any]]:
    """The details of every verified ``power`` event the server holds for ``device_id``, in
    order; ``sleeps_only``: only those that end a wake with a sleep."""
    rows = json.loads(run_checked(python_module(
        "host_tools", "records", "export", "--dir", str(server_dir), "--device", device_id,
        "--format", "json")))
    found = []
    for row in rows:
        body = (row.get("record") or {}).get("body") or {}
        details = body.get("details") or {}
        if body.get("type") != "power" or row.get("status") != "verified":
            continue
        if not sleeps_only or details.get("state") == "sleep":
            found.append(dict(details))
    return found
