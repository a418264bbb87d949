"""The CLI end to end: pty read through pyserial, TCP over 127.0.0.1, serial, signals, bad input."""

import os
import re
import signal
import socket
import subprocess
import time

import pynmea2
import pytest
import serial

from host_tools.gpssim.transport import PtyTransport, SerialTransport
from tests.host_tools.gpssim.gpssimkit import CORPUS, start_cli


def _first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def _read_port(port: serial.Serial, proc: subprocess.Popen[str], seconds: float) -> bytes:
    """What the port delivers until the simulator exits or ``seconds`` pass."""
    data = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data += port.read(4096)
        except serial.SerialException:
            break  # the simulator closed the pty: the "device" went away
        if proc.poll() is not None and not port.in_waiting:
            break
    return data


def _ggas(data: bytes) -> list[pynmea2.GGA]:
    return [pynmea2.parse(line, check=True) for line in data.decode("ascii").splitlines()
            if line.startswith("$GPGGA")]


def test_pty_is_read_through_pyserial_as_a_serial_port() -> None:
    proc = start_cli("--scenario", "demo", "--time-scale", "10", "--baud", "115200", "--seed", "5")
    first = _first_line(proc)
    assert re.fullmatch(r"PTY /dev/pts/\d+", first)
    with serial.Serial(first.split()[1], 115200, timeout=0.2) as port:
        data = _read_port(port, proc, 10)
    assert proc.wait(5) == 0
    ggas = _ggas(data)
    assert len(ggas) >= 20  # 30 epochs in 3 s; the reader may open a moment late
    assert {g.gps_qual for g in ggas} >= {0, 1}  # fixes and the tunnel
    assert data.endswith(b"\r\n")


def test_pty_survives_a_late_reader_that_closes_and_comes_back() -> None:
    proc = start_cli("--scenario", "walk:30", "--time-scale", "10", "--baud", "115200")
    path = _first_line(proc).split()[1]
    time.sleep(0.5)  # nobody reads: the simulator must not block or fill the pty
    with serial.Serial(path, 115200, timeout=0.2) as port:
        first = _read_port(port, proc, 0.6)
    time.sleep(0.5)
    with serial.Serial(path, 115200, timeout=0.2) as port:
        second = _read_port(port, proc, 10)
    assert proc.wait(5) == 0
    before, after = _ggas(first), _ggas(second)
    assert before and after
    # No stale backlog: the second session starts near "now", not where the first stopped.
    assert after[0].timestamp > before[-1].timestamp


def test_tcp_serves_every_client() -> None:
    proc = start_cli("--tcp", "127.0.0.1:0", "--scenario", "walk:20", "--time-scale", "10")
    first = _first_line(proc)
    match = re.fullmatch(r"TCP 127\.0\.0\.1:(\d+)", first)
    assert match and int(match[1]) > 0
    clients = [socket.create_connection(("127.0.0.1", int(match[1])), timeout=5) for _ in range(3)]
    clients[2].close()  # a client that leaves early must not disturb the others
    received = []
    for client in clients[:2]:
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
        client.close()
        received.append(b"".join(chunks))
    assert proc.wait(5) == 0
    for data in received:
        assert len(_ggas(data)) >= 10


def test_sigterm_stops_cleanly_with_exit_code_zero() -> None:
    proc = start_cli("--tcp", "0", "--scenario", "walk:600")
    assert _first_line(proc).startswith("TCP 127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert proc.stderr is not None and "stopped" in proc.stderr.read()


def test_ten_hertz_fits_115200_but_not_9600_baud() -> None:
    fits = start_cli("--tcp", "0", "--rate", "10", "--talker", "GN", "--baud", "115200",
                     "--epochs", "5")
    tight = start_cli("--tcp", "0", "--rate", "10", "--talker", "GN", "--baud", "9600",
                      "--epochs", "3")
    _, fits_err = fits.communicate(timeout=20)
    _, tight_err = tight.communicate(timeout=20)
    assert fits.returncode == tight.returncode == 0
    assert "falls behind" not in fits_err
    assert "falls behind" in tight_err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--waypoints", "47.1;8.2"], "lat,lon"),
        (["--rate", "20"], "1 to 10 Hz"),
        (["--route", "/nonexistent/route.gpx"], "cannot read route file"),
        (["--scenario", "swim"], "unknown scenario segment"),
        (["--baud", "1234"], "unsupported"),
        (["--replay", "/nonexistent/log.nmea"], "cannot read log"),
        (["--serial", "/dev/nonexistent-gps"], "cannot open serial port"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    proc = start_cli(*args)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert out == ""  # no port line when nothing will be served
    assert message in err


def test_serial_transport_writes_to_a_real_tty() -> None:
    master, slave = os.openpty()
    try:
        transport = SerialTransport(os.ttyname(slave), 9600)
        assert transport.announce() == f"SERIAL {os.ttyname(slave)}"
        transport.write(b"$GPGSV,1,1,00*79\r\n")
        transport.close()
        assert os.read(master, 100) == b"$GPGSV,1,1,00*79\r\n"
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="nmea-corpus folder not present")
def test_replay_over_tcp_sends_the_log_in_order() -> None:
    log = CORPUS / "gpsd__mt3339.nmea"
    proc = start_cli("--tcp", "0", "--replay", str(log), "--time-scale", "30")
    port = int(_first_line(proc).rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    assert proc.wait(5) == 0
    data = b"".join(chunks)
    assert data and log.read_bytes().replace(b"\n", b"\r\n").endswith(data)


def test_pty_never_blocks_without_a_reader_and_serves_fresh_data_later() -> None:
    transport = PtyTransport(115200)
    try:
        for _ in range(200):  # 200 kB with nobody reading: far more than the pty holds
            transport.write(b"$" + b"x" * 997 + b"\r\n")
        with serial.Serial(transport.path, 115200, timeout=0.5) as port:
            transport.write(b"$GPGSV,1,1,00*79\r\n")
            data = port.read(200_000)
        assert data.endswith(b"$GPGSV,1,1,00*79\r\n")
        assert len(data) < 30_000  # no more than the pty buffer of stale bytes, if any
    finally:
        transport.close()
        transport.close()  # idempotent
