"""systemd notify: datagrams on a real AF_UNIX socket, and the watchdog interval."""

import os
import socket
from pathlib import Path

import pytest

from firmware.app.sdnotify import Notifier


def test_sends_fields_to_the_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        notifier = Notifier(path)
        notifier.send("READY=1", "STATUS=running")
        assert server.recv(1024) == b"READY=1\nSTATUS=running"
        notifier.close()


def test_without_systemd_it_does_nothing() -> None:
    notifier = Notifier("")
    assert not notifier.enabled
    notifier.send("READY=1")  # no socket, no error


def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Notifier("").watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert Notifier("").watchdog_interval() is None
