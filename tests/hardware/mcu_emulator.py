"""A Python stand-in for the supervisor MCU: the real hardware/mcu logic on a pty's master end."""

import os
import select
import threading
import time

import resetlog
import supervisor
import ticks


class McuEmulator:
    """Runs :class:`supervisor.Supervisor` against a file descriptor in a background thread.

    Tests change ``strap_open``/``button_down``/``external`` and set ``silent`` to make it stop
    answering, as a hung or unplugged MCU would.
    """

    def __init__(self, fd: int, log_path: str) -> None:
        self.fd = fd
        self.logic = supervisor.Supervisor(
            self._now(), resetlog.ResetLog(log_path), resetlog.POWER_ON
        )
        self.strap_open = False
        self.button_down = False
        self.external = False
        self.silent = False
        self.received = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mcu-emulator", daemon=True)

    @staticmethod
    def _now() -> int:
        return int(time.monotonic() * 1000) & (ticks.PERIOD - 1)

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (the fd stays open; the test owns it)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self.fd], [], [], 0.01)
            data = os.read(self.fd, 512) if readable else b""
            if self.silent:
                continue
            with self.lock:
                now = self._now()
                self.received += len(data)
                self.logic.inputs(now, self.strap_open, self.button_down, self.external)
                out = self.logic.receive(now, data) + self.logic.poll(now)
            for frame in out:
                os.write(self.fd, frame)
