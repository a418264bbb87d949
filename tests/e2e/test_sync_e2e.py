"""End to end on loopback: `fieldcheck server run` over HTTPS, a pinned device client, the CLI."""

import datetime
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.export import decode_export
from fieldcheck_protocol.record import ZERO_HASH
from fieldcheck_protocol.signature import record_hash, verify_record
from fieldcheck_server import tls
from firmware.services.sync_loop import SyncLoop, SyncPolicy
from firmware.sync.backends import https
from firmware.sync.base import PinMismatch
from tests.e2e.serverproc import ServerProcess, fieldcheck, provision
from tests.firmware.sync.devicesim import MemoryStore, SimDevice

RECORDS = 300
Running = tuple[SimDevice, ServerProcess, str]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    sim = SimDevice()
    fingerprint = provision(tmp_path / "srv", sim.device_id, sim.public_key.hex())
    server = ServerProcess(tmp_path / "srv")
    server.start()
    yield sim, server, fingerprint
    server.stop()


def pinned(
    sim: SimDevice, server: ServerProcess, cert: Path, fingerprint: str
) -> https.HttpsTransport:
    config = https.Config(
        url=f"https://127.0.0.1:{server.port}",
        server_cert=cert,
        fingerprint=fingerprint,
        timeout_s=10.0,
    )
    transport = https.create(config, sim.signer, SystemClock())
    transport.start()
    return transport


@pytest.mark.slow
def test_device_syncs_to_the_pinned_server_and_officers_read_it(
    running: Running, tmp_path: Path
) -> None:
    sim, server, fingerprint = running
    store = MemoryStore(sim.extend(RECORDS))
    transport = pinned(sim, server, server.directory / tls.CERT_FILE, fingerprint)
    loop = SyncLoop(store, transport, random.Random(3), SyncPolicy(batch_records=64))
    loop.drain(max_batches=20)
    transport.stop()
    assert store.acked == RECORDS - 1

    listing = fieldcheck(
        "records", "list", "--dir", str(server.directory), "--device", sim.device_id
    )
    assert [line.split()[1] for line in listing.splitlines()] == ["verified"] * RECORDS

    out = tmp_path / "export.cbor"
    fieldcheck(
        "records",
        "export",
        "--dir",
        str(server.directory),
        "--device",
        sim.device_id,
        "--format",
        "cose",
        "--out",
        str(out),
    )
    exported = list(decode_export(out.read_bytes()).records)
    prev = ZERO_HASH
    for seq, cose in enumerate(exported):
        record = verify_record(cose, sim.public_key)
        assert (record.seq, record.prev_hash) == (seq, prev)
        prev = record_hash(cose)
    assert exported == sim.chain


def test_a_server_with_another_certificate_is_refused(running: Running, tmp_path: Path) -> None:
    sim, server, _fingerprint = running
    other = tls.generate(tmp_path / "other", ("127.0.0.1",), datetime.datetime.now(datetime.UTC))
    transport = pinned(sim, server, tmp_path / "other" / tls.CERT_FILE, other)
    store = MemoryStore(sim.extend(3))
    loop = SyncLoop(store, transport, random.Random(3))
    loop.step()
    transport.stop()
    assert loop.status.needs_technician
    assert "not the pinned one" in loop.status.last_error
    assert store.acks == []
    with pytest.raises(PinMismatch):
        transport.start()
        transport.push([])
