"""Receiver backup power: UBX and MTK commands through a real pty, and the sim's starts."""

import json
import os
import select
import struct
import time
from pathlib import Path

import pytest

from firmware.gps.backends import serial, sim
from firmware.gps.reader import NmeaReader
from firmware.gps.standby import WAKE_BYTES, standby_command
from tests.firmware.gps.test_backends import Pty


def fletcher(data: bytes) -> bytes:
    """UBX checksum, written out as the interface description gives it."""
    a = b = 0
    for byte in data:
        a = (a + byte) % 256
        b = (b + a) % 256
    return bytes([a, b])


def test_the_ubx_command_is_rxm_pmreq_backup_until_uart_rx() -> None:
    frame = standby_command("ubx")
    assert frame[:2] == b"\xb5\x62" and frame[2:4] == b"\x02\x41"
    (length,) = struct.unpack("<H", frame[4:6])
    payload = frame[6:6 + length]
    assert length == 16 and len(frame) == 6 + length + 2
    version, duration, flags, wake = struct.unpack("<B3xIII", payload)
    assert (version, duration) == (0, 0)  # until woken
    assert flags & 0x02 and flags & 0x04  # backup, force
    assert wake == 0x08  # UART RX wakes it
    assert frame[-2:] == fletcher(frame[2:-2])


def test_the_mtk_command_is_pmtk161_and_none_sends_nothing() -> None:
    assert standby_command("mtk") == b"$PMTK161,0*28\r\n"
    assert standby_command("none") == b""


def drain(fd: int, seconds: float = 1.0) -> bytes:
    got, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            got += os.read(fd, 4096)
        elif got:
            break
    return got


@pytest.mark.parametrize("kind", ["ubx", "mtk"])
def test_the_serial_source_wakes_the_receiver_at_start_and_sends_standby(
        tmp_path: Path, kind: serial.StandbyKind) -> None:
    pty = Pty(tmp_path / "gps0")
    source = serial.create(serial.Config(port=str(tmp_path / "gps0"), standby=kind))
    try:
        source.start()
        assert drain(pty.master) == WAKE_BYTES  # a receiver left in backup power wakes up
        assert source.standby()
        assert drain(pty.master) == standby_command(kind)
        source.stop()
    finally:
        pty.unplug()


def test_a_serial_receiver_without_standby_gets_nothing(tmp_path: Path) -> None:
    pty = Pty(tmp_path / "gps0")
    source = serial.create(serial.Config(port=str(tmp_path / "gps0"), standby="none"))
    try:
        source.start()
        assert not source.standby()
        assert drain(pty.master, 0.3) == b""
        source.stop()
    finally:
        pty.unplug()


def fixes_after(receiver: sim.SimReceiver, seconds: float) -> list[str]:
    reader = NmeaReader()
    deadline = time.monotonic() + seconds
    kinds: list[str] = []
    while time.monotonic() < deadline:
        for obs in reader.feed(receiver.read(0.1)):
            kinds.append(f"{type(obs).__name__}:{getattr(obs, 'valid', '')}")
    return kinds


def test_the_simulated_receiver_starts_hot_only_after_backup_power(tmp_path: Path) -> None:
    backup = tmp_path / "gps-backup.json"
    config = sim.Config(rate_hz=20, cold_ttff_s=30, hot_ttff_s=0, backup_file=str(backup))
    receiver = sim.create(config)
    receiver.start()
    assert not receiver.hot and receiver.ttff_s == 30  # first power-up: cold
    assert "Rmc:True" not in fixes_after(receiver, 0.3)
    assert receiver.standby() and backup.exists()
    receiver.stop()
    receiver.start()
    assert receiver.hot and receiver.ttff_s == 0  # woken from backup power: hot
    assert "Rmc:True" in fixes_after(receiver, 0.3)
    receiver.stop()
    receiver.start()  # stopped without standby (power lost): cold again
    assert not receiver.hot
    receiver.stop()


def test_old_backup_power_gives_a_cold_start(tmp_path: Path) -> None:
    backup = tmp_path / "gps-backup.json"
    backup.write_text(json.dumps({"standby_at": time.time() - 5 * 3600}))
    receiver = sim.create(sim.Config(backup_file=str(backup), backup_valid_s=4 * 3600))
    receiver.start()
    assert not receiver.hot
    receiver.stop()
    assert not sim.create(sim.Config()).standby()  # no backup file: nothing to keep
