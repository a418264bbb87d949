"""Server benchmarks (`fieldcheck server bench`): ingest rate vs the Ed25519 anchor, drain time.

One run each, wall-clock, on whatever cores the process gets; the figures are printed as JSON for
`make bench`. No target is asserted here. Beside the rate, the ingest run reports its CPU per
record in single verifications (1.0 is the floor: nothing but the signature checks), the
database server's share of it (a PostgreSQL on this machine: its processes' CPU, on the same
cores), and how many cores it kept busy, figures a machine shared with other work moves less than
the wall clock. What all the cores verify at once against one core, measured back to back, says
what the machine can give at that moment: on a shared host two cores running together often give
far less than twice one core.
"""

import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol import request_auth
from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.record import ZERO_HASH, FixSummary, Kind, Record
from fieldcheck_protocol.signature import device_id_for, public_key_bytes, record_hash, sign_record
from fieldcheck_protocol.wire import CBOR, RECORDS_PATH
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_database, open_sqlite
from fieldcheck_server.domain import registry, verify_pool
from fieldcheck_server.domain.ingest import IngestService

BATCH = 256  # the device's default batch (firmware.services.sync_loop.SyncPolicy)
START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def location_record(device_id: str, seq: int, prev: bytes, **overrides: Any) -> Record:
    """A location record with a 3D fix, one a minute from START (bench and test data)."""
    when = START + timedelta(seconds=60 * seq)
    fix = FixSummary(
        lat=52.52, lon=13.40, alt_m=34.0, mode="3d", hdop=0.9, sats_used=9, gps_time=when, age_s=0.5
    )
    values: dict[str, Any] = {
        "kind": Kind.LOCATION,
        "device_id": device_id,
        "seq": seq,
        "prev_hash": prev,
        "device_time": when,
        "gps_time": when,
        "fix": fix,
        "firmware_version": "bench",
        "model_version": "none",
        "body": {"interval": 60},
    }
    return Record(**(values | overrides))


def signed_chain(key: Ed25519PrivateKey, count: int) -> list[bytes]:
    """``count`` chained location records, as a unit on a walk would write them."""
    device_id = device_id_for(public_key_bytes(key))
    chain: list[bytes] = []
    prev = ZERO_HASH
    for seq in range(count):
        cose = sign_record(location_record(device_id, seq, prev), key)
        chain.append(cose)
        prev = record_hash(cose)
    return chain


def headers_for(key: Ed25519PrivateKey, body: bytes, now: datetime) -> dict[str, str]:
    """Request headers exactly as a unit signs them."""
    device_id = device_id_for(public_key_bytes(key))
    nonce = request_auth.new_nonce(os.urandom)
    stamp = int(now.timestamp())
    headers = request_auth.signed_headers(
        device_id, key.sign, "POST", RECORDS_PATH, body, stamp, nonce
    )
    return headers | {"Content-Type": CBOR}


#: Verifications of one anchor sample, taken before each batch of an ingest run (about 50 ms).
ANCHOR_ROUNDS = 300


@dataclass
class Anchor:
    """The one-core Ed25519 anchor, sampled between the batches of an ingest run, so a machine
    whose other load changes during the run moves the anchor and the ingest alike."""

    per_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def sample(self, rounds: int = ANCHOR_ROUNDS) -> None:
        """One sample: ``rounds`` verifications of a 200-byte message, wall and CPU."""
        wall, cpu = _verify_seconds(rounds)
        self.per_s.append(rounds / wall)
        self.cpu_s.append(cpu / rounds)

    def rate(self) -> float:
        """Single-core verifications per second (the median sample)."""
        return statistics.median(self.per_s)

    def verify_cpu_s(self) -> float:
        """CPU seconds of one verification (the median sample; the unit of :class:`IngestCost`)."""
        return statistics.median(self.cpu_s)


def _verify_seconds(rounds: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``rounds`` verifications of a 200-byte message."""
    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), bytes(200)
    signature = key.sign(message)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        public.verify(signature, message)
    return time.perf_counter() - wall, time.process_time() - cpu


def ed25519_verify_per_s_all_cores(parts: int, seconds: float = 0.5) -> tuple[float, float]:
    """Verifications per second of one process alone (the mean of a count just before and one
    just after), and of ``parts`` processes verifying at once in between, in the same spawned
    processes (started on one shared start time so they overlap, each counting its own for
    ``seconds``)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(parts) as pool:
        pool.starmap(_verify_count, [(0.0, 0.01)] * parts)  # every process up and warm
        before = pool.apply(_verify_count, (0.0, seconds))
        start = time.time() + 0.05
        counts = pool.starmap(_verify_count, [(start, seconds)] * parts)
        after = pool.apply(_verify_count, (0.0, seconds))
    return (before + after) / 2 / seconds, sum(counts) / seconds


def _verify_count(start: float, seconds: float) -> int:
    """In a bench process: wait for ``start``, then count verifications for ``seconds``."""
    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), bytes(200)
    signature = key.sign(message)
    time.sleep(max(0.0, start - time.time()))
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(50):
            public.verify(signature, message)
        count += 50
    return count


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux ``/proc``; 0.0 where there is none)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(db: Database) -> dict[int, float]:
    """CPU seconds so far of each process of the database server, where it runs on this machine
    (PostgreSQL: every backend and background process); empty for SQLite (in-process) and for a
    server elsewhere."""
    if db.dialect != "postgresql":
        return {}
    with db.read() as tx:
        pids = tx.connection.exec_driver_sql("SELECT pid FROM pg_stat_activity").scalars().all()
    return {int(pid): process_cpu_s(int(pid)) for pid in pids if _is_postgres(int(pid))}


def _is_postgres(pid: int) -> bool:
    """Whether a local process of that id is a PostgreSQL server process (not some other
    process that happens to have the id of a remote server's backend)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


@dataclass
class IngestCost:
    """Where an ingest run's time went: wall, the serving process's CPU, its workers' CPU, the
    database server's CPU (a PostgreSQL on this machine)."""

    records: int
    wall_s: float = 0.0
    serving_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    database_cpu_s: float = 0.0

    def cpu_s(self) -> float:
        """All CPU seconds the ingest cost on this machine."""
        return self.serving_cpu_s + self.worker_cpu_s + self.database_cpu_s

    def cpu_per_record_in_verifies(self, verify_cpu_s: float) -> float:
        """CPU spent per record, the database server's included, in single Ed25519
        verifications (the floor is 1.0)."""
        return self.cpu_s() / self.records / verify_cpu_s

    def database_per_record_in_verifies(self, verify_cpu_s: float) -> float:
        """The database server's part of :meth:`cpu_per_record_in_verifies`."""
        return self.database_cpu_s / self.records / verify_cpu_s

    def cores_busy(self) -> float:
        """CPU seconds per wall second: how many cores the ingest kept busy."""
        return self.cpu_s() / self.wall_s if self.wall_s else 0.0


@contextmanager
def _bench_db(database: str | None, key: Ed25519PrivateKey) -> Iterator[Database]:
    """The given database (URL), else a fresh temporary SQLite file; ``key``'s unit registered."""
    with tempfile.TemporaryDirectory() as temp:
        if database is None:
            db = open_sqlite(Path(temp) / "bench.db")
        else:
            db = open_database(database)
        migrate.upgrade(db)
        public = public_key_bytes(key)
        registry.register(db, device_id_for(public), public.hex(), "bench", 0)
        yield db


def _batches(chain: list[bytes]) -> Iterator[bytes]:
    for start in range(0, len(chain), BATCH):
        yield cbor2.dumps(chain[start : start + BATCH])


def ingest_per_s(key: Ed25519PrivateKey, chain: list[bytes], database: str | None = None,
                 cost: IngestCost | None = None, anchor: Anchor | None = None
                 ) -> tuple[float, list[float]]:
    """Records verified, chain-checked and durably committed per second (service, no HTTP), and
    each batch's latency in ms; ``cost`` (if given) gets the wall and CPU time of the batches,
    ``anchor`` (if given) a sample before each batch and after the last (not in the figures)."""
    with _bench_db(database, key) as db:
        service = IngestService(db, SystemClock())
        service.start_workers()  # a server starts its workers at start-up, not on the clock
        workers = service.verifier.worker_pids()
        worker_cpu = sum(map(process_cpu_s, workers))
        database_before = database_cpu(db)
        latencies, serving_cpu = [], 0.0
        for body in _batches(chain):
            if anchor is not None:
                anchor.sample()
            start, start_cpu = time.perf_counter(), time.process_time()
            headers = headers_for(key, body, datetime.now(UTC))
            result = service.handle(headers, body, len(body), "bench")
            latencies.append((time.perf_counter() - start) * 1000)
            serving_cpu += time.process_time() - start_cpu
            assert not result.rejected, result.rejected
        if anchor is not None:
            anchor.sample()
        wall = sum(latencies) / 1000
        if cost is not None:
            cost.wall_s, cost.serving_cpu_s = wall, serving_cpu
            cost.worker_cpu_s = sum(map(process_cpu_s, workers)) - worker_cpu
            # A backend started during the run (a pool connection) counts from 0.
            cost.database_cpu_s = sum(cpu - database_before.get(pid, 0.0)
                                      for pid, cpu in database_cpu(db).items())
        return len(chain) / wall, latencies


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0-1) quantile, by the inclusive method (the largest value at 1.0)."""
    if len(values) < 2:
        return values[0] if values else 0.0
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[min(98, max(0, round(share * 100) - 1))] if share < 1 else max(values)


def drain_seconds(key: Ed25519PrivateKey, chain: list[bytes], database: str | None = None
                  ) -> tuple[float, list[float]]:
    """Seconds to drain a backlog over HTTP (in-process ASGI), batch by batch from the ack, and
    each request's latency in ms."""
    from fastapi.testclient import TestClient

    from fieldcheck_server.api.app import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    with (
        _bench_db(database, key) as db,
        TestClient(create_app(IngestService(db, SystemClock()))) as client,
    ):
        began = time.perf_counter()
        acked = -1
        latencies = []
        while acked < len(chain) - 1:
            start = time.perf_counter()
            body = cbor2.dumps(chain[acked + 1 : acked + 1 + BATCH])
            answer = client.post(
                RECORDS_PATH, content=body, headers=headers_for(key, body, datetime.now(UTC))
            )
            acked = answer.json()["acked_seq"]
            latencies.append((time.perf_counter() - start) * 1000)
        return time.perf_counter() - began, latencies


def run_all(records: int, backlog: int, database: str | None = None) -> dict[str, Any]:
    """Every server figure, one run each; on ``database`` (a URL) if given, else temporary SQLite.

    Ingest and drain use two bench units, so both start from an empty chain in a shared database.
    """
    keys = [Ed25519PrivateKey.generate() for _ in range(2)]
    began = time.perf_counter()
    ingest_chain, drain_chain = signed_chain(keys[0], records), signed_chain(keys[1], backlog)
    sign_rate = (records + backlog) / (time.perf_counter() - began)
    cost, sampled = IngestCost(records), Anchor()
    ingest, batch_ms = ingest_per_s(keys[0], ingest_chain, database, cost, sampled)
    anchor, verify_cpu = sampled.rate(), sampled.verify_cpu_s()
    parts = verify_pool.shared().parts
    # Back to back, one core then all: what the machine gives on all its cores at one moment.
    one_core, all_cores = ed25519_verify_per_s_all_cores(parts)
    chain = ingest_chain + drain_chain
    drain, request_ms = drain_seconds(keys[1], drain_chain, database)
    return {
        "database": "sqlite" if database is None else open_database(database).dialect,
        "ed25519_verify_per_s_one_core": round(anchor),
        "server_ingest_records_per_s": round(ingest),
        "server_ingest_vs_verify_anchor": round(ingest / anchor, 3),
        "ed25519_verify_per_s_all_cores": round(all_cores),
        "ed25519_verify_per_s_one_core_beside_all": round(one_core),
        "ingest_records": records,
        "backlog_records": backlog,
        "backlog_drain_s": round(drain, 3),
        "batch_records": BATCH,
        "verify_parts": parts,
        "ingest_cpu_per_record_in_verifies": round(cost.cpu_per_record_in_verifies(verify_cpu), 3),
        "ingest_database_cpu_per_record_in_verifies": round(
            cost.database_per_record_in_verifies(verify_cpu), 3),
        "ingest_cores_busy": round(cost.cores_busy(), 2),
        "ingest_batch_ms_p50": round(percentile(batch_ms, 0.5), 2),
        "ingest_batch_ms_p99": round(percentile(batch_ms, 0.99), 2),
        "drain_request_ms_p50": round(percentile(request_ms, 0.5), 2),
        "drain_request_ms_p99": round(percentile(request_ms, 0.99), 2),
        "bytes_per_record_cose": round(sum(map(len, chain)) / len(chain), 1),
        "bench_chain_signed_per_s": round(sign_rate),
    }
