"""Stopping the daemon: every step runs even when one fails (a full disk at shutdown)."""

import io
import json
from pathlib import Path
from typing import Any

from firmware import config
from firmware.app.daemon import Daemon
from firmware.app.parts import Parts
from firmware.core.lifecycle import Lifecycle
from firmware.errors import StoreError, SyncError
from firmware.ui.backends import report


class Part(Lifecycle):
    def __init__(self, log: list[str], name: str, fail: Exception | None = None) -> None:
        self.log, self.name, self.fail = log, name, fail
        self._running = True

    def _start(self) -> None:
        self.log.append(f"start {self.name}")

    def _stop(self) -> None:
        self.log.append(f"stop {self.name}")
        if self.fail is not None:
            raise self.fail


class Sync(Part):
    def final_flush(self) -> None:
        self.log.append("flush")
        raise SyncError("server unreachable")


class Gps(Part):
    def stats(self) -> Any:
        class Counts:
            sentences_ok = 3
            rejected: dict[str, int] = {}

        class Stats:
            state = type("S", (), {"value": "3d"})()
            counts = Counts()
            epochs, fixes_by_type, flagged, clock_offset_s, reopens = 3, {}, {}, 0.1, 0

        return Stats()


class FullStore:
    def status(self) -> Any:
        return type("Status", (), {"next_seq": 7, "acked_seq": 5, "retained": 7})()


class Recorder:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def event(self, kind: str, details: dict[str, Any]) -> None:
        self.log.append(kind)
        raise StoreError("database or disk is full")


def test_every_shutdown_step_runs_when_one_fails(tmp_path: Path) -> None:
    log: list[str] = []
    stream = io.StringIO()
    cfg = config.from_mapping({"camera": {"type": "replay", "folder": str(tmp_path)}}, "test")
    daemon = Daemon(cfg, report.create(report.Config(), stream))
    parts = Parts(Gps(log, "gps"), Part(log, "checkin"),  # type: ignore[arg-type]
                  Part(log, "events"),  # type: ignore[arg-type]
                  Part(log, "supervisor", fail=StoreError("late tamper not stored")),
                  Sync(log, "sync"), syncing=True)  # type: ignore[arg-type]
    daemon._shutdown(parts, Recorder(log), FullStore())  # type: ignore[arg-type]
    assert log == ["stop supervisor", "stop events", "stop gps", "stop checkin", "shutdown",
                   "flush",
                   "stop sync"]
    summary = json.loads(stream.getvalue().splitlines()[-1])
    assert summary["t"] == "summary" and summary["store"]["next_seq"] == 7
