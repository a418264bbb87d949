"""`make bench` section ``load``: many simulated units uploading at once to real servers.

Each unit has its own Ed25519 key, is registered, and uploads its signed chain in batches over
HTTPS on loopback (one asyncio httpx client, requests signed by ``fieldcheck_protocol``) to real
``fieldcheck server run`` processes, while operator readers page ``/api/v1/fleet`` with an admin
token. One run measures SQLite and PostgreSQL, each with one and with two server processes over
one database (units split between them). After each run every unit's stored records are read
back and re-verified: a record counts only if it is stored as verified.
"""

import asyncio
import logging
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cbor2
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.signature import device_id_for, public_key_bytes
from fieldcheck_protocol.wire import RECORDS_PATH
from fieldcheck_server import tls
from fieldcheck_server.bench import headers_for, percentile, signed_chain
from fieldcheck_server.cli.common import open_db
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import accounts, registry, tokens
from fieldcheck_server.domain.accounts import AccessSettings
from fieldcheck_server.domain.export import rows
from fieldcheck_server.domain.roles import SYSTEM, Role
from host_tools.bench.benchmarks import Row
from host_tools.bench.processes import Child, run_checked

if TYPE_CHECKING:
    from tests.fieldcheck_server.pgcluster import PgCluster

logger = logging.getLogger(__name__)

ENTRY = "import sys; from host_tools.cli import main; sys.exit(main())"
FLEET_PATH = "/api/v1/fleet"
READERS = 2  # operators paging the fleet view during the upload
READER_PAUSE_S = 0.05
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class LoadSize:
    """How big a run is: units, batches each, records per batch, requests in flight."""

    devices: int
    batches: int = 2
    batch_records: int = 2
    in_flight: int = 64


# 1,000 units x 2 batches x 2 records = 4,000 records per run, four runs: ~3 minutes on 2 cores.
FULL = LoadSize(1000)
QUICK = LoadSize(100)


@dataclass(frozen=True)
class Fleet:
    """The simulated units: a key and a pre-signed chain each (signing is not what is timed)."""

    keys: list[Ed25519PrivateKey]
    chains: list[list[bytes]]

    @property
    def records(self) -> int:
        return sum(len(chain) for chain in self.chains)


@dataclass
class LoadResult:
    """One run's figures: upload and operator latencies, committed and verified counts."""

    backend: str
    processes: int
    seconds: float = 0.0
    acked: int = 0
    verified: int = 0
    upload_ms: list[float] = field(default_factory=list)
    fleet_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def records_per_s(self) -> float:
        return self.verified / self.seconds if self.seconds else 0.0


def make_fleet(size: LoadSize) -> Fleet:
    """``size.devices`` fresh keys, each with its chain of location records."""
    keys = [Ed25519PrivateKey.generate() for _ in range(size.devices)]
    count = size.batches * size.batch_records
    return Fleet(keys, [signed_chain(key, count) for key in keys])


def _fieldcheck(*args: str) -> list[str]:
    return [sys.executable, "-c", ENTRY, *args]


def prepare(directory: Path, fleet: Fleet, database: str | None) -> str:
    """`server init` (TLS, schema), every unit registered, an admin's API token (returned)."""
    extra = () if database is None else ("--database", database)
    run_checked(_fieldcheck("server", "init", "--dir", str(directory), *extra))
    db = open_db(directory, database)
    try:
        for key in fleet.keys:
            public = public_key_bytes(key)
            registry.register(db, device_id_for(public), public.hex(), "load", 0)
        accounts.add_user(db, AccessSettings(), "loadadmin", "load bench password 1",
                          Role.ADMIN, 0, SYSTEM)
        return tokens.create(db, "loadadmin", "load bench", None, 0, SYSTEM).secret
    finally:
        db.dispose()


@contextmanager
def servers(directory: Path, count: int, database: str | None) -> Iterator[list[int]]:
    """``count`` `server run` processes over the one database; yields their ports."""
    extra = () if database is None else ("--database", database)
    children: list[Child] = []
    try:
        ports = []
        for n in range(count):
            port_file = directory / f"port{n}"
            children.append(Child(f"server {n}", _fieldcheck(
                "server", "run", "--dir", str(directory), "--port", "0",
                "--port-file", str(port_file), *extra)))
            ports.append(_wait_for_port(children[-1], port_file))
        yield ports
    finally:
        for child in children:
            child.stop()


def _wait_for_port(child: Child, port_file: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_file.exists():
        if child.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} did not start: {child.describe_failure()}")
        time.sleep(0.05)
    child.first_line(timeout=START_TIMEOUT_S)  # "listening on": uvicorn is about to serve
    return int(port_file.read_text())


async def _unit(client: httpx.AsyncClient, base: str, key: Ed25519PrivateKey, chain: list[bytes],
                size: LoadSize, gate: asyncio.Semaphore, result: LoadResult) -> None:
    """One unit: its batches in order, each sent once the previous one is acknowledged."""
    for start in range(0, len(chain), size.batch_records):
        batch = chain[start : start + size.batch_records]
        body = cbor2.dumps(batch)
        async with gate:
            began = time.perf_counter()
            try:
                answer = await _post(client, base, key, body)
            except httpx.HTTPError as err:
                result.failures.append(f"{type(err).__name__}: {err}")
                return
            result.upload_ms.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            result.failures.append(f"{answer.status_code} {answer.text[:200]}")
            return
        result.acked += len(batch)


async def _post(client: httpx.AsyncClient, base: str, key: Ed25519PrivateKey, body: bytes
                ) -> httpx.Response:
    """POST a batch signed as a unit signs it; once more, freshly signed, if the server closed a
    kept-alive connection as the request went out (a unit's sync loop retries the same way)."""
    for attempt in range(2):
        headers = headers_for(key, body, datetime.now(UTC))
        try:
            return await client.post(base + RECORDS_PATH, content=body, headers=headers)
        except httpx.RemoteProtocolError:
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _reader(client: httpx.AsyncClient, base: str, token: str, done: asyncio.Event,
                  result: LoadResult) -> None:
    """An operator re-reading the fleet view until the upload is over."""
    headers = {"Authorization": f"Bearer {token}"}
    while not done.is_set():
        began = time.perf_counter()
        try:
            answer = await client.get(base + FLEET_PATH, headers=headers)
        except httpx.HTTPError as err:
            result.failures.append(f"fleet {type(err).__name__}: {err}")
            return
        result.fleet_ms.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            result.failures.append(f"fleet {answer.status_code} {answer.text[:200]}")
            return
        await asyncio.sleep(READER_PAUSE_S)


async def _drive(fleet: Fleet, size: LoadSize, ports: Sequence[int], cert: Path, token: str,
                 result: LoadResult) -> None:
    context = ssl.create_default_context(cafile=str(cert))
    limits = httpx.Limits(max_connections=size.in_flight + READERS * len(ports))
    bases = [f"https://127.0.0.1:{port}" for port in ports]
    gate, done = asyncio.Semaphore(size.in_flight), asyncio.Event()
    async with httpx.AsyncClient(verify=context, limits=limits, timeout=120) as client:
        readers = [asyncio.create_task(_reader(client, bases[n % len(bases)], token, done, result))
                   for n in range(READERS)]
        began = time.perf_counter()
        await asyncio.gather(*(
            _unit(client, bases[n % len(bases)], key, chain, size, gate, result)
            for n, (key, chain) in enumerate(zip(fleet.keys, fleet.chains, strict=True))
        ))
        result.seconds = time.perf_counter() - began
        done.set()
        await asyncio.gather(*readers)


def verified_count(db: Database, fleet: Fleet) -> int:
    """Records stored as verified (re-verified against each unit's key on the way out)."""
    total = 0
    for key in fleet.keys:
        device_id = device_id_for(public_key_bytes(key))
        total += sum(1 for row in rows(db, device_id) if row.status == "verified")
    return total


def run_one(fleet: Fleet, size: LoadSize, processes: int, database: str | None = None,
            backend: str = "sqlite") -> LoadResult:
    """One measured run on a fresh server directory (and ``database``, else SQLite there)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    result = LoadResult(backend, processes)
    with tempfile.TemporaryDirectory(prefix="fieldcheck-load-") as temp:
        directory = Path(temp) / "server"
        token = prepare(directory, fleet, database)
        with servers(directory, processes, database) as ports:
            asyncio.run(_drive(fleet, size, ports, directory / tls.CERT_FILE, token, result))
        db = open_db(directory, database)
        try:
            result.verified = verified_count(db, fleet)
        finally:
            db.dispose()
    return result


def figures(result: LoadResult) -> dict[str, float]:
    """The reported numbers of one run."""
    return {
        "records_per_s": round(result.records_per_s, 1),
        "upload_ms_p99": round(percentile(result.upload_ms, 0.99), 1),
        "upload_ms_p50": round(percentile(result.upload_ms, 0.5), 1),
        "fleet_ms_p99": round(percentile(result.fleet_ms, 0.99), 1),
        "fleet_reads": float(len(result.fleet_ms)),
        "verified": float(result.verified),
        "seconds": round(result.seconds, 2),
    }


@contextmanager
def postgres() -> Iterator[tuple["PgCluster | None", str | None]]:
    """A throwaway PostgreSQL 15 cluster (the tests' own, but durable: fsync and synchronous
    commit on, as a deployment runs), or None and why it cannot start."""
    from tests.fieldcheck_server import pgcluster  # the bench runs from a checkout, as the tests

    why = pgcluster.unavailable()
    if why is not None:
        yield None, why
        return
    cluster = pgcluster.PgCluster(durable=True)
    try:
        cluster.start()
    except (RuntimeError, OSError) as err:
        cluster.stop()
        yield None, f"the PostgreSQL cluster did not start: {str(err)[-300:]}"
        return
    try:
        yield cluster, None
    finally:
        cluster.stop()


def _pg_url(cluster: "PgCluster", name: str) -> str:
    cluster.admin(f"CREATE DATABASE {name}")
    return cluster.url(name)


def run_matrix(size: LoadSize) -> tuple[list[LoadResult], str | None]:
    """SQLite and PostgreSQL, one and two server processes; and why PostgreSQL was skipped."""
    fleet = make_fleet(size)
    results = [run_one(fleet, size, n) for n in (1, 2)]
    with postgres() as (cluster, why):
        if cluster is not None:
            results += [run_one(fleet, size, n, _pg_url(cluster, f"load{n}"), "postgresql")
                        for n in (1, 2)]
    for result in results:
        if result.failures:
            raise RuntimeError(f"{result.backend} x{result.processes}: {len(result.failures)} "
                               f"failed requests, first: {result.failures[0]}")
    return results, why


def load(quick: bool) -> list[Row]:
    """The bench section: rate, upload p99 and fleet-view p99 for each backend and server count."""
    size = QUICK if quick else FULL
    results, why = run_matrix(size)
    if why is not None:
        print(f"  load: PostgreSQL skipped: {why}", file=sys.stderr)
    by_key = {(r.backend, r.processes): r for r in results}
    rows_out: list[Row] = []
    for result in results:
        rows_out += _rows_of(result, size, _baseline_of(result, by_key))
    return rows_out


def _baseline_of(result: LoadResult, by_key: dict[tuple[str, int], LoadResult]
                 ) -> tuple[LoadResult | None, str]:
    """Two processes compare with one on the same database; PostgreSQL with SQLite."""
    if result.processes == 2:
        return by_key.get((result.backend, 1)), f"{result.backend}, one process"
    if result.backend == "postgresql":
        return by_key.get(("sqlite", 1)), "sqlite, one process"
    return None, ""


def _rows_of(result: LoadResult, size: LoadSize, baseline: tuple[LoadResult | None, str]
             ) -> list[Row]:
    ours, base = figures(result), None if baseline[0] is None else figures(baseline[0])
    name = baseline[1]
    where = f"{result.backend} x{result.processes}"
    total = size.devices * size.batches * size.batch_records

    def base_of(key: str) -> float | None:
        return None if base is None else base[key]

    return [
        Row("load", f"{where}: records verified + committed/s ({int(ours['verified'])}/{total} "
            f"from {size.devices} units)", ours["records_per_s"], "rec/s",
            base_of("records_per_s"), name, "higher"),
        Row("load", f"{where}: upload p99 ({size.batch_records}-record batches, "
            f"{size.in_flight} in flight; p50 {ours['upload_ms_p50']} ms)",
            ours["upload_ms_p99"], "ms", base_of("upload_ms_p99"), name, "lower"),
        Row("load", f"{where}: fleet view p99 under load ({int(ours['fleet_reads'])} reads)",
            ours["fleet_ms_p99"], "ms", base_of("fleet_ms_p99"), name, "lower"),
    ]

