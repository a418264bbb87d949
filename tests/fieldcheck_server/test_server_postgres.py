"""PostgreSQL in a fleet: the CLI and bench on a database URL, two ingest processes racing."""

import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest

from fieldcheck_protocol.record import ZERO_HASH
from fieldcheck_protocol.signature import record_hash
from fieldcheck_server import bench, tls
from fieldcheck_server.bench import run_all
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database, open_sqlite
from firmware.sync.auth import signed_headers
from host_tools.cli import main
from tests.e2e.serverproc import ServerProcess, fieldcheck
from tests.fieldcheck_server.pgcluster import PgCluster
from tests.fieldcheck_server.serverkit import evidence, stored
from tests.firmware.sync.devicesim import SimDevice

ROUNDS = 12
HONEST_BATCH = 8


@pytest.fixture
def pg_url(postgres: PgCluster) -> str:
    url = postgres.fresh_schema_url()
    migrate.upgrade(open_database(url))
    return url


def test_cli_works_on_a_database_url(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = SimDevice()
    assert main(["server", "init", "--dir", str(tmp_path / "srv"), "--database", pg_url]) == 0
    assert not (tmp_path / "srv" / "fieldcheck.db").exists()  # the URL, not the embedded file
    monkeypatch.setenv("FIELDCHECK_DATABASE_URL", pg_url)
    register = ["device", "register", "--dir", str(tmp_path / "srv"), "--id", sim.device_id]
    assert main([*register, "--public-key", sim.public_key.hex(), "--label", "unit 9"]) == 0
    capsys.readouterr()
    assert main(["device", "list", "--dir", str(tmp_path / "srv")]) == 0
    assert f"{sim.device_id}  active" in capsys.readouterr().out
    with open_database(pg_url).read() as tx:
        assert [row.label for row in tx.devices()] == ["unit 9"]


def test_unreachable_postgres_is_an_actionable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as probe:  # a loopback port with nothing listening once released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://fc:secret-pw@127.0.0.1:{port}/fleet"
    assert main(["device", "list", "--dir", str(tmp_path), "--database", url]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}/fleet" in err
    assert "secret-pw" not in err


def test_unsupported_database_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "list", "--dir", str(tmp_path), "--database", "mysql://x/y"]) == 2
    assert "postgresql://USER@HOST:PORT/DBNAME" in capsys.readouterr().err


def test_bench_runs_on_postgres(pg_url: str) -> None:
    figures = run_all(records=30, backlog=40, database=pg_url)
    assert figures["database"] == "postgresql"
    assert figures["server_ingest_records_per_s"] > 0 and figures["backlog_drain_s"] > 0
    db = open_database(pg_url)
    with db.read() as tx:
        heads = sorted(tx.head(row.device_id)[0] for row in tx.devices())  # type: ignore[index]
    assert heads == [29, 39]  # both bench units' chains, complete
    assert figures["ingest_database_cpu_per_record_in_verifies"] >= 0
    assert figures["ed25519_verify_per_s_all_cores"] > 0
    assert figures["ed25519_verify_per_s_one_core_beside_all"] > 0


def test_the_bench_counts_the_local_postgresql_servers_cpu(pg_url: str, tmp_path: Path) -> None:
    db = open_database(pg_url)
    with db.read() as tx:
        backend = tx.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    counted = bench.database_cpu(db)
    assert backend in counted and all(cpu >= 0 for cpu in counted.values())
    assert len(counted) > 1  # the background processes too (checkpointer, WAL writer, ...)
    db.dispose()
    sqlite = open_sqlite(tmp_path / "bench.db")
    assert bench.database_cpu(sqlite) == {}  # in-process: already in the serving CPU


@pytest.fixture
def two_nodes(pg_url: str, tmp_path: Path) -> Iterator[tuple[SimDevice, list[httpx.Client]]]:
    """Two `fieldcheck server run` processes on one PostgreSQL database, one unit registered."""
    sim = SimDevice()
    servers, clients = [], []
    try:
        for name in ("node1", "node2"):
            directory = tmp_path / name
            fieldcheck("server", "init", "--dir", str(directory), "--database", pg_url)
            servers.append(ServerProcess(directory, "--database", pg_url))
        fieldcheck(
            *("device", "register", "--dir", str(tmp_path / "node1"), "--database", pg_url),
            *("--id", sim.device_id, "--public-key", sim.public_key.hex()),
        )
        for server in servers:
            server.start()
            context = ssl.create_default_context(cafile=server.directory / tls.CERT_FILE)
            base = f"https://127.0.0.1:{server.port}"
            clients.append(httpx.Client(base_url=base, verify=context, timeout=30))
        yield sim, clients
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()


def _post(client: httpx.Client, sim: SimDevice, items: list[bytes]) -> dict[str, Any]:
    body = cbor2.dumps(items)
    headers = signed_headers(sim.signer, "POST", "/v1/records", body, int(time.time()), os.urandom)
    response = client.post(
        "/v1/records", content=body, headers=headers | {"Content-Type": "application/cbor"}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _race(
    clients: list[httpx.Client], sim: SimDevice, batches: list[list[bytes]]
) -> list[dict[str, Any]]:
    """Send one batch to each node at the same moment; the answers in node order."""
    answers: list[dict[str, Any]] = [{} for _ in clients]
    errors: list[BaseException] = []
    start = threading.Barrier(len(clients))

    def send(index: int) -> None:
        try:
            start.wait()
            answers[index] = _post(clients[index], sim, batches[index])
        except BaseException as err:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(err)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return answers


@pytest.mark.slow
def test_two_ingest_processes_racing_on_one_device_never_fork_the_chain(
    two_nodes: tuple[SimDevice, list[httpx.Client]], pg_url: str
) -> None:
    sim, clients = two_nodes
    for round_ in range(ROUNDS):
        # The same honest batch at both nodes: stored once, the other node sees duplicates.
        honest = sim.extend(HONEST_BATCH)
        answers = _race(clients, sim, [honest, honest])
        assert sorted(a["accepted"] for a in answers) == [0, HONEST_BATCH]
        assert sorted(a["duplicates"] for a in answers) == [0, HONEST_BATCH]
        head = len(sim.chain) - 1
        assert [a["acked_seq"] for a in answers] == [head, head]
        # Two different records for the same next seq, one at each node (a cloned unit):
        # exactly one is stored, the other is refused as a fork and kept as evidence.
        prev = record_hash(sim.chain[-1]) if sim.chain else ZERO_HASH
        rivals = [
            sim.sign(sim.record(head + 1, prev, body={"interval": 1000 + 2 * round_ + node}))
            for node in (0, 1)
        ]
        answers = _race(clients, sim, [[rivals[0]], [rivals[1]]])
        assert sorted(a["accepted"] for a in answers) == [0, 1], answers
        loser = next(a for a in answers if a["accepted"] == 0)
        assert [r["code"] for r in loser["rejected"]] == ["fork"]
        winner = rivals[[a["accepted"] for a in answers].index(1)]
        sim.chain.append(winner)
        assert [a["acked_seq"] for a in answers] == [head + 1, head + 1]
    db: Database = open_database(pg_url)
    assert stored(db, sim) == sim.chain  # contiguous, chain-verified, winners only
    assert evidence(db, sim) == ["fork"] * ROUNDS
