"""Fork the real device daemon, let it record and sync, kill -9 it, and say what it was doing."""

import functools
import logging
import mmap
import os
import random
import select
import signal
import struct
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from PIL import Image

from firmware.app.daemon import Daemon
from firmware.config import DeviceConfig, load
from firmware.face.backends.replay import FORMAT
from firmware.store.backends.sqlite import SqliteRecordStore
from firmware.sync.backends.https import HttpsTransport
from firmware.ui.backends import report
from host_tools.gpssim.receiver import Receiver, ReceiverSettings
from host_tools.gpssim.route import DEFAULT_ROUTE, Route
from host_tools.gpssim.scenario import parse_scenario

#: What the counters count: (name, class, method). The wrappers only observe and call through.
WATCHED: tuple[tuple[str, type, str], ...] = (
    ("append", SqliteRecordStore, "append"),
    ("push", HttpsTransport, "push"),
    ("ack", SqliteRecordStore, "acknowledge"),
)
#: Supervisor events every round: tamper, battery, power and one button press (a check-in).
SCRIPT = (
    "0.10 tamper open=1 uptime_ms=100", "0.25 battery millivolts=3900 percent=80",
    "0.40 button press=1 duration_ms=120", "0.55 tamper open=0 uptime_ms=550",
    "0.70 power external=0", "0.85 battery millivolts=3500 percent=15", "0.95 power external=1",
)
#: How long an aimed kill waits for its target call, and how often it looks.
AIM_WINDOW_S = 0.2
AIM_POLL_S = 0.0002
#: A daemon asked to stop cleanly must be gone within this.
STOP_TIMEOUT_S = 30.0


class Phases:
    """Started/finished counters per watched method in memory shared with the forked child.

    The child bumps them around the real calls; after the kill the parent sees which calls
    were still running, i.e. what the kill interrupted.
    """

    def __init__(self) -> None:
        self._names = [name for name, _, _ in WATCHED]
        self._memory = mmap.mmap(-1, 16 * len(self._names))  # anonymous, shared across fork
        self._lock = threading.Lock()  # the child's threads all append and sync

    def reset(self) -> None:
        """Zero every counter before a round."""
        self._memory[:] = bytes(len(self._memory))

    def _bump(self, index: int) -> None:
        with self._lock:
            (value,) = struct.unpack_from("q", self._memory, 8 * index)
            struct.pack_into("q", self._memory, 8 * index, value + 1)

    def instrument(self) -> None:
        """In the child only: wrap each watched method so it counts its starts and ends."""
        for number, (_, cls, method) in enumerate(WATCHED):
            setattr(cls, method, self._counted(getattr(cls, method), 2 * number))

    def _counted(self, real: Callable[..., Any], index: int) -> Callable[..., Any]:
        @functools.wraps(real)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._bump(index)
            try:
                return real(*args, **kwargs)
            finally:
                self._bump(index + 1)

        return wrapper

    def read(self) -> dict[str, tuple[int, int]]:
        """name -> (calls started, calls finished)."""
        values = struct.unpack_from(f"{2 * len(self._names)}q", self._memory)
        return {name: (values[2 * i], values[2 * i + 1]) for i, name in enumerate(self._names)}


def write_gps_log(path: Path, start: datetime, seconds: float = 20.0,
                  rate_hz: float = 10.0) -> None:
    """A simulated walk under open sky as a raw NMEA log, for the replay GPS backend."""
    receiver = Receiver(Route(DEFAULT_ROUTE), parse_scenario(f"walk:{seconds:g}"),
                        ReceiverSettings(rate_hz=rate_hz), start, random.Random(3))
    path.write_bytes(b"".join(
        line.encode("ascii") for epoch in receiver.epochs() for line in epoch.lines
    ))


def write_config(workdir: Path, data_dir: Path, url: str, cert: Path, fingerprint: str) -> Path:
    """A device config whose sources produce records quickly and which syncs continuously."""
    log = workdir / "walk.nmea"
    write_gps_log(log, datetime.now(UTC).replace(microsecond=0))
    camera = workdir / "camera"
    camera.mkdir()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(camera / "frame.png")
    recording = workdir / "face-recording.json"
    recording.write_text(
        f'{{"format": "{FORMAT}", "threshold": 0.5, "model_sha256": "none", '
        '"model_version": "none", "frames": {}}'
    )
    script = ", ".join(f'"{line}"' for line in SCRIPT)
    path = workdir / "device.toml"
    path.write_text(
        f'[device]\ndata_dir = "{data_dir}"\n'
        '[policy]\npower = "always_on"\nlocation_interval_s = 0.05\nsync_interval_s = 0.1\n'
        f'[gps]\ntype = "replay"\npath = "{log}"\nspeed = 2.0\nloop = true\n'
        f'[sync]\ntype = "https"\nurl = "{url}"\nserver_cert = "{cert}"\n'
        f'fingerprint = "{fingerprint}"\ntimeout_s = 5.0\n'
        f'[supervisor]\ntype = "sim"\ntick_s = 0.02\nscript = [{script}]\n'
        f'[camera]\ntype = "replay"\nfolder = "{camera}"\n'
        f'[face]\ntype = "replay"\nrecording = "{recording}"\n'
        "[checkin]\nattempts = 1\nburst_frames = 1\nretry_delay_s = 0.0\n"
    )
    return path


def load_config(path: Path) -> DeviceConfig:
    """Load (and so import every backend) in the parent, before any fork."""
    return load(path)


def _run_child(config: DeviceConfig, report_fd: int, phases: Phases, log: Path) -> NoReturn:
    """The forked child: the real daemon, reporting to the pipe, until it is killed."""
    code = 70
    try:
        root = logging.getLogger()
        for handler in list(root.handlers):  # pytest's capture handlers belong to the parent
            root.removeHandler(handler)
        handler = logging.FileHandler(log)
        handler.setFormatter(
            logging.Formatter(f"{os.getpid()} %(levelname)s %(name)s: %(message)s")
        )
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
        phases.instrument()
        stream = os.fdopen(report_fd, "w", buffering=1, encoding="utf-8")
        code = Daemon(config, report.create(report.Config(), stream)).run()
    except BaseException:  # noqa: BLE001 - the child must never return into pytest
        traceback.print_exc()
    finally:
        os._exit(code)


def _wait_until_running(phases: Phases, name: str) -> None:
    deadline = time.monotonic() + AIM_WINDOW_S
    while time.monotonic() < deadline:
        started, finished = phases.read()[name]
        if started > finished:
            return
        time.sleep(AIM_POLL_S)


def _reap(pid: int) -> int:
    """Wait for the child; one that ignores a clean stop is killed and reported as hung."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the daemon did not stop within {STOP_TIMEOUT_S} s")


@dataclass
class Killed:
    """One round as the parent saw it: report lines, what was running, how it ended."""

    lines: list[str]
    phases: dict[str, tuple[int, int]]
    exit_status: int

    def running(self, name: str) -> bool:
        """Whether a call of ``name`` had started and not finished when the kill landed."""
        started, finished = self.phases[name]
        return started > finished


def fork_and_kill(config: DeviceConfig, phases: Phases, delay_s: float, log: Path,
                  stop: signal.Signals = signal.SIGKILL, aim: str | None = None) -> Killed:
    """Fork the daemon on ``config``, send ``stop`` after ``delay_s``, collect what it reported.

    With ``aim`` (a watched name), after the delay wait up to ``AIM_WINDOW_S`` more for a call
    of it to be running, so the kill lands inside a write or a push rather than between them.
    """
    phases.reset()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _run_child(config, write_fd, phases, log)
    os.close(write_fd)
    buffer = bytearray()
    deadline = time.monotonic() + delay_s
    # Drain the pipe while waiting, so a chatty child never blocks on a full pipe.
    while (left := deadline - time.monotonic()) > 0:
        if select.select([read_fd], [], [], left)[0]:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break  # the child is gone already; the caller sees its exit status
            buffer += chunk
    if aim is not None:
        _wait_until_running(phases, aim)
    os.kill(pid, stop)
    status = _reap(pid)
    while chunk := os.read(read_fd, 65536):
        buffer += chunk
    os.close(read_fd)
    text = buffer.decode("utf-8", "replace")
    lines = text.split("\n")[:-1]  # a line cut by the kill has no newline: not reported
    return Killed(lines, phases.read(), status)
