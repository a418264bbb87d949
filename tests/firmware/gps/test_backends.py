"""GPS byte sources: serial through a real pty (including unplug and replug), TCP, replay."""

import os
import socket
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.core.nmea import build_sentence
from firmware.errors import ConfigError, GpsError
from firmware.gps.backends import replay, serial, tcp
from firmware.gps.reader import NmeaReader

GGA = build_sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,").encode()
RMC = build_sentence("GPRMC,123519,A,4807.038,N,01131.000,E,0.0,0.0,241126,,").encode()


class Pty:
    """A pseudo-terminal whose slave side is reached through a stable symlink (like udev)."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.ttyname(self.slave))

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def read_until(source: serial.SerialSource, count: int) -> bytes:
    data = b""
    for _ in range(50):
        data += source.read(0.1)
        if len(data) >= count:
            break
    return data


@pytest.fixture
def link(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "gps0"


def test_serial_reads_chunks_through_a_real_pty(link: Path) -> None:
    pty = Pty(link)
    source = serial.create(serial.Config(port=str(link), baudrate=9600))
    source.start()
    try:
        assert source.read(0.05) == b""  # nothing sent yet: returns after the timeout
        pty.write(GGA + RMC)
        data = read_until(source, len(GGA + RMC))
        assert data == GGA + RMC
        assert len(NmeaReader().feed(data)) == 2
        assert "9600 baud" in source.describe
    finally:
        source.stop()
        pty.unplug()


def test_serial_port_that_goes_away_raises_and_can_be_reopened(link: Path) -> None:
    pty = Pty(link)
    source = serial.create(serial.Config(port=str(link)))
    source.start()
    pty.write(GGA)
    assert read_until(source, len(GGA)) == GGA
    pty.unplug()  # USB unplug: the device node vanishes
    with pytest.raises(GpsError, match="went away"):
        for _ in range(20):
            source.read(0.05)
    source.stop()
    with pytest.raises(GpsError, match="cannot open"):
        source.start()
    replugged = Pty(link)  # the receiver comes back under the same name
    try:
        source.start()
        replugged.write(RMC)
        assert read_until(source, len(RMC)) == RMC
    finally:
        source.stop()
        replugged.unplug()


def test_serial_port_is_owned_exclusively(link: Path) -> None:
    pty = Pty(link)
    first = serial.create(serial.Config(port=str(link)))
    second = serial.create(serial.Config(port=str(link)))
    first.start()
    try:
        with pytest.raises(GpsError):
            second.start()
    finally:
        first.stop()
        pty.unplug()


def test_tcp_source_reads_and_reports_a_closed_server() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
    thread.start()
    source = tcp.create(tcp.Config(host="127.0.0.1", port=port))
    source.start()
    thread.join(5)
    try:
        assert source.read(0.05) == b""
        accepted[0].sendall(GGA)
        assert source.read(2.0) == GGA
        accepted[0].close()
        with pytest.raises(GpsError, match="closed"):
            source.read(2.0)
    finally:
        source.stop()
        server.close()


def test_tcp_source_without_server_raises_gps_error() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()
    with pytest.raises(GpsError, match="cannot connect"):
        tcp.create(tcp.Config(port=port)).start()


class FakeTime:
    """Monotonic time that moves only when the source sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def log_with_epochs(tmp_path: Path) -> Path:
    lines = [
        build_sentence(f"GPGGA,12000{s},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
        for s in range(3)
    ]
    path = tmp_path / "log.nmea"
    path.write_bytes(b"\xb5\x62garbage\r\n" + "".join(lines).encode())
    return path


def test_replay_keeps_the_original_timing(tmp_path: Path) -> None:
    clock = FakeTime()
    source = replay.ReplaySource(
        log_with_epochs(tmp_path), 1.0, False, clock.monotonic, clock.sleep
    )
    source.start()
    first = source.read(0.5)
    assert first.startswith(b"\xb5\x62") and first.count(b"$GPGGA") == 1 and clock.now == 0.0
    assert source.read(0.5) == b"" and clock.now == 0.5  # second epoch is due at t = 1 s
    assert source.read(0.6).count(b"$GPGGA") == 1 and clock.now == pytest.approx(1.0)
    assert source.read(5.0).count(b"$GPGGA") == 1 and clock.now == pytest.approx(2.0)
    assert source.finished and source.read(0.1) == b""


def test_replay_flat_out_and_loop(tmp_path: Path) -> None:
    clock = FakeTime()
    source = replay.ReplaySource(log_with_epochs(tmp_path), 0.0, True, clock.monotonic, clock.sleep)
    source.start()
    assert source.read(0.1).count(b"$GPGGA") == 3
    assert source.read(0.1).count(b"$GPGGA") == 3 and clock.now == 0.0


def test_replay_needs_a_path_and_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        replay.create(replay.Config())
    with pytest.raises(GpsError):
        replay.create(replay.Config(path=str(tmp_path / "missing.nmea"))).start()


def test_serial_idle_reads_do_not_reconfigure_the_port(link: Path) -> None:
    """Issue 13 (CPU at rest): every idle read set the timeout, and pyserial re-applied the
    termios settings each time (tcgetattr + tcsetattr per read at 1 Hz, 9600 baud)."""
    pty = Pty(link)
    source = serial.create(serial.Config(port=str(link), baudrate=9600, gather_s=0.0))
    source.start()
    port = source._serial
    calls: list[object] = []
    reconfigure = port._reconfigure_port

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return reconfigure(*args, **kwargs)

    port._reconfigure_port = counted
    try:
        for _ in range(4):
            assert source.read(0.01) == b""  # nothing waiting: wait for the first byte
        pty.write(GGA)
        assert read_until(source, len(GGA)) == GGA
        assert len(calls) <= 2  # a new timeout (0.01, then 0.1) only
    finally:
        source.stop()
        pty.unplug()
