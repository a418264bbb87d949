"""The sync loop against the real ingest app in-process, and against scripted transports."""

import logging
import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import Database, open_sqlite
from fieldcheck_server.domain import registry
from fieldcheck_server.domain.ingest import IngestService
from firmware.services.sync_loop import SyncLoop, SyncPolicy
from firmware.sync.backends.https import HttpsTransport
from firmware.sync.base import PushResult, Rejection, SyncRefused, SyncTransport, SyncUnavailable
from tests.firmware.sync.devicesim import MemoryStore, SimDevice

BACKLOG = 10_000


class Scripted(SyncTransport):
    """Answers each push with the next scripted result or raises the next scripted error."""

    describe = "scripted"

    def __init__(self, answers: list[PushResult | Exception]) -> None:
        self.answers = answers
        self.pushed: list[list[bytes]] = []

    def _start(self) -> None:
        return None

    def _stop(self) -> None:
        return None

    def push(self, records: list[bytes]) -> PushResult:
        self.pushed.append(records)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def server(tmp_path: Path, sim: SimDevice, clock: ManualClock) -> tuple[Database, HttpsTransport]:
    db = open_sqlite(tmp_path / "server.db")
    migrate.upgrade(db)
    registry.register(db, sim.device_id, sim.public_key.hex(), "", 0)
    app = create_app(IngestService(db, clock))
    transport = HttpsTransport(
        "http://testserver", sim.signer, clock, lambda: TestClient(app), pin=None
    )
    transport.start()
    return db, transport


@pytest.mark.slow
def test_drains_a_large_backlog_in_bounded_batches(tmp_path: Path) -> None:
    """Days offline: 10,000 records go out oldest first, in bounded batches, all acknowledged."""
    sim, clock = SimDevice(), ManualClock()
    sim.extend(BACKLOG)
    store = MemoryStore(sim.chain)
    db, transport = server(tmp_path, sim, clock)
    loop = SyncLoop(store, transport, random.Random(1), SyncPolicy(batch_records=500))
    assert loop.drain(max_batches=100) == BACKLOG // 500
    assert store.acked == BACKLOG - 1
    assert store.acks == list(range(499, BACKLOG, 500))  # resumed from each ack, in order
    with db.read() as tx:
        assert tx.head(sim.device_id) is not None
        assert [cose for _, cose, _ in tx.records(sim.device_id, 0, BACKLOG)] == sim.chain
    assert loop.step() == SyncPolicy().idle_interval_s


def test_batches_are_bounded_in_bytes(tmp_path: Path) -> None:
    sim, clock = SimDevice(), ManualClock()
    sim.extend(30)
    size = len(sim.chain[0])
    store = MemoryStore(sim.chain)
    _db, transport = server(tmp_path, sim, clock)
    loop = SyncLoop(store, transport, random.Random(1), SyncPolicy(batch_bytes=size * 7 + 3))
    loop.drain(max_batches=10)
    assert store.acked == 29
    assert all(b - a <= 7 for a, b in zip([-1, *store.acks], store.acks, strict=False))


def test_unavailable_server_backs_off_with_full_jitter() -> None:
    sim = SimDevice()
    store = MemoryStore(sim.extend(3))
    transport = Scripted([SyncUnavailable("down")] * 12)
    rng = random.Random(5)
    policy = SyncPolicy(base_delay_s=1.0, max_delay_s=60.0)
    loop = SyncLoop(store, transport, rng, policy)
    delays = [loop.step() for _ in range(12)]
    replay = random.Random(5)
    ceilings = [min(60.0, 2.0**n) for n in range(12)]
    assert delays == [replay.random() * c for c in ceilings]
    assert store.acks == []  # nothing acknowledged, nothing may be deleted
    assert loop.status.failures == 12 and not loop.status.needs_technician


def test_refusal_needs_a_technician_and_acknowledges_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = SimDevice()
    store = MemoryStore(sim.extend(3))
    refusal = SyncRefused(401, "unknown_device", "not registered", "register this unit")
    loop = SyncLoop(store, Scripted([refusal]), random.Random(1))
    with caplog.at_level(logging.ERROR):
        loop.step()
    assert loop.status.needs_technician
    assert store.acks == []
    assert "unknown_device" in caplog.text and "register this unit" in caplog.text


def test_rejected_records_are_reported_and_not_acknowledged_past() -> None:
    sim = SimDevice()
    store = MemoryStore(sim.extend(4))
    answer = PushResult(
        acked_seq=1, accepted=2, duplicates=0, rejected=(Rejection(2, "fork", "different bytes"),)
    )
    loop = SyncLoop(store, Scripted([answer]), random.Random(1))
    assert loop.step() == 0.0
    assert store.acked == 1
    assert loop.status.needs_technician


def test_never_acknowledges_beyond_what_was_sent() -> None:
    sim = SimDevice()
    store = MemoryStore(sim.extend(10))
    loop = SyncLoop(
        store, Scripted([PushResult(9999, 3, 0)]), random.Random(1), SyncPolicy(batch_records=3)
    )
    loop.step()
    assert store.acked == 2


def test_no_progress_backs_off_instead_of_hammering() -> None:
    sim = SimDevice()
    store = MemoryStore(sim.extend(2))
    loop = SyncLoop(store, Scripted([PushResult(None, 0, 0)]), random.Random(1))
    delay = loop.step()
    assert 0.0 <= delay <= SyncPolicy().base_delay_s
    assert loop.status.failures == 1
    assert store.acks == []


def test_run_stops_when_asked() -> None:
    sim = SimDevice()
    store = MemoryStore(sim.extend(2))
    loop = SyncLoop(store, Scripted([PushResult(1, 2, 0)]), random.Random(1))
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) == 2

    loop.run(wait)
    assert waits == [0.0, SyncPolicy().idle_interval_s]
    assert store.acked == 1


def test_idle_unit_polls_for_commands_with_an_empty_batch() -> None:
    got: list[tuple[bytes, ...]] = []
    transport = Scripted([PushResult(None, 0, 0, commands=(b"c1", b"c2")), PushResult(None, 0, 0)])
    loop = SyncLoop(MemoryStore([]), transport, random.Random(1), on_commands=got.append)
    assert loop.step() == 0.0  # the answers to the commands are pushed at once
    assert loop.step() == SyncPolicy().idle_interval_s
    assert transport.pushed == [[], []] and got == [(b"c1", b"c2")]
    assert loop.status.failures == 0


def test_without_a_command_handler_an_idle_unit_sends_nothing() -> None:
    transport = Scripted([])
    loop = SyncLoop(MemoryStore([]), transport, random.Random(1))
    assert loop.step() == SyncPolicy().idle_interval_s
    assert transport.pushed == []


def test_commands_with_a_failing_batch_do_not_skip_the_backoff() -> None:
    sim = SimDevice()
    got: list[tuple[bytes, ...]] = []
    transport = Scripted([PushResult(None, 0, 0, commands=(b"c1",))])
    loop = SyncLoop(MemoryStore(sim.extend(2)), transport, random.Random(1),
                    on_commands=got.append)
    assert 0.0 < loop.step() <= SyncPolicy().base_delay_s
    assert got == [(b"c1",)] and loop.status.failures == 1
