"""The sync loop with the real SQLite record store and device identity, against the real app."""

import random
from pathlib import Path

from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from fieldcheck_server.api.app import create_app
from fieldcheck_server.db import migrate
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.domain import registry
from fieldcheck_server.domain.ingest import IngestService
from firmware.services.ledger import Ledger
from firmware.services.sync_loop import SyncLoop, SyncPolicy
from firmware.store.backends import sqlite as store_sqlite
from firmware.store.identity import create_identity
from firmware.sync.backends.https import HttpsTransport
from firmware.sync.backends.null import NullTransport

RECORDS = 300


def test_store_backlog_drains_and_only_acknowledged_records_are_marked(tmp_path: Path) -> None:
    clock = ManualClock()
    identity = create_identity(tmp_path / "unit")
    store = store_sqlite.create(
        store_sqlite.Config(), data_dir=tmp_path / "unit", identity=identity, clock=clock
    )
    store.start_and_check()
    ledger = Ledger(store, identity, clock)
    for minute in range(RECORDS):
        ledger.write(Kind.LOCATION, {"interval": 60})
        clock.advance(60 if minute else 0)

    # Offline first: nothing is acknowledged, everything stays pending.
    offline = SyncLoop(store, NullTransport(), random.Random(2))
    offline.step()
    assert store.status().acked_seq == -1
    assert len(store.pending(RECORDS + 1, 10**9)) == RECORDS

    db = open_sqlite(tmp_path / "server.db")
    migrate.upgrade(db)
    registry.register(db, identity.device_id, identity.public_key_b64, "", 0)
    app = create_app(IngestService(db, clock))
    transport = HttpsTransport("http://testserver", identity, clock, lambda: TestClient(app), None)
    transport.start()
    loop = SyncLoop(store, transport, random.Random(2), SyncPolicy(batch_records=64))
    loop.drain(max_batches=20)
    assert store.status().acked_seq == RECORDS - 1
    assert store.pending(10, 10**6) == []
    with db.read() as tx:
        server_side = [cose for _, cose, _ in tx.records(identity.device_id, 0, RECORDS)]
    assert server_side == [r.cose for r in store.records(limit=RECORDS)]
    store.stop()
