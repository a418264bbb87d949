"""The served app: proxy headers believed from nobody by default; many slow clients stay cheap."""

import os
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fieldcheck_server import tls
from fieldcheck_server.api.serve import ServeSettings
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from tests.e2e.serverproc import ServerProcess, fieldcheck


def test_default_settings_trust_no_proxy_and_bound_connections() -> None:
    options = ServeSettings(Path("k"), Path("c")).uvicorn_options()
    assert options["proxy_headers"] is False and options["forwarded_allow_ips"] == []
    assert options["limit_concurrency"] == 200 and options["timeout_keep_alive"] == 5
    assert options["h11_max_incomplete_event_size"] == 16 * 1024
    assert options["http"].header_timeout_s == 10.0
    trusted = ServeSettings(Path("k"), Path("c"), trusted_proxies=("10.0.0.2",)).uvicorn_options()
    assert trusted["proxy_headers"] is True and trusted["forwarded_allow_ips"] == ["10.0.0.2"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    directory = tmp_path / "srv"
    fieldcheck("server", "init", "--dir", str(directory))
    process = ServerProcess(directory, "--header-timeout", "1.5")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _client(server: ServerProcess) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(server.directory / tls.CERT_FILE))
    context.check_hostname = False
    return httpx.Client(verify=context, base_url=f"https://127.0.0.1:{server.port}", timeout=10)


def test_x_forwarded_for_from_loopback_is_not_believed(server: ServerProcess) -> None:
    """Issue 8: uvicorn's default trusts X-Forwarded-For from 127.0.0.1."""
    with _client(server) as client:
        headers = {"Content-Type": "application/cbor", "X-Forwarded-For": "203.0.113.9"}
        assert client.post("/v1/records", content=b"x", headers=headers).status_code == 401
    with open_sqlite(server.directory / DB_FILE).read() as tx:
        assert [count.source for count in tx.refusal_counts()] == ["127.0.0.1"]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_300_slow_connections_declaring_4_mib_cost_little_memory(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8: 300 connections each holding 4 MiB-1 took the server from 80 to 1,460 MiB."""
    assert server.process is not None
    pid = server.process.pid
    context = ssl.create_default_context(cafile=str(server.directory / tls.CERT_FILE))
    context.check_hostname = False
    before = _rss_kib(pid)
    head = (
        "POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n"
        f"Content-Length: {4 * 1024 * 1024 - 1}\r\n\r\n"
    ).encode()
    sockets, dropped = [], 0
    try:
        for _ in range(300):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            conn = context.wrap_socket(raw)
            sockets.append(conn)
            try:
                conn.sendall(head)
                conn.sendall(os.urandom(64 * 1024))
            except OSError:
                dropped += 1  # answered (401/503) and closed at once instead of buffering
        time.sleep(1.0)
        peak = _rss_kib(pid)
        descriptors = len(os.listdir(f"/proc/{pid}/fd"))
    finally:
        for conn in sockets:
            conn.close()
    time.sleep(1.0)
    after = len(os.listdir(f"/proc/{pid}/fd"))
    with capsys.disabled():
        print(
            f"\n300 slow 4 MiB uploads: server RSS {before // 1024} -> {peak // 1024} MiB, "
            f"{descriptors} descriptors open while held, {after} after; "
            f"{dropped} dropped by the server while sending"
        )
    assert peak - before < 150 * 1024
    assert after < 50



def test_clients_that_never_finish_their_headers_are_dropped(server: ServerProcess) -> None:
    """Issue 8: 1,500 connections with partial headers held 1,509 descriptors after 70 s."""
    assert server.process is not None
    pid = server.process.pid
    context = ssl.create_default_context(cafile=str(server.directory / tls.CERT_FILE))
    context.check_hostname = False
    idle = len(os.listdir(f"/proc/{pid}/fd"))
    sockets = []
    try:
        for _ in range(40):
            conn = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port)))
            conn.sendall(b"POST /v1/records HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sockets.append(conn)
        time.sleep(0.5)
        held = len(os.listdir(f"/proc/{pid}/fd"))
        time.sleep(2.5)  # past the 1.5 s header time-out
        after = len(os.listdir(f"/proc/{pid}/fd"))
        closed = sum(1 for conn in sockets if _closed_by_peer(conn))
    finally:
        for conn in sockets:
            conn.close()
    assert held >= idle + 40
    assert after <= idle + 2 and closed == 40


def _closed_by_peer(conn: ssl.SSLSocket) -> bool:
    conn.settimeout(2)
    try:
        return conn.recv(1) == b""
    except (ssl.SSLError, OSError):
        return True
