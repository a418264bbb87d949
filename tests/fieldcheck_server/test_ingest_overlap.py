"""When a request's records are verified against its write transaction (issue 13).

PostgreSQL locks one device's row, so the caller locks, checks the device and uses the nonce
while the verify workers start on the records, and verifies its own share inside the
transaction. SQLite's one write lock stops every writer, so there everything is verified first.
Either way a request refused in the transaction (a replay) drops the pieces not yet taken."""

from collections.abc import Callable
from typing import Any

import cbor2
import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.wire import ErrorCode
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tx import Tx
from fieldcheck_server.domain.ingest import IngestService
from fieldcheck_server.domain.verify_pool import Spread, VerifyPool
from fieldcheck_server.errors import Refused
from tests.fieldcheck_server.serverkit import LIMITS, auth_headers, stored
from tests.firmware.sync.devicesim import SimDevice


class RecordingSpread(Spread[bytes, Any]):
    """A spread that notes when the records are verified and when it is dropped."""

    events: list[str]

    def finished(self, finish: Callable[[list[bytes], list[Any]], list[Any]]) -> list[Any]:
        self.events.append("verified")
        return super().finished(finish)

    def cancel(self) -> None:
        self.events.append("cancelled")
        super().cancel()


class RecordingPool(VerifyPool):
    """The caller alone (one part), noting each step."""

    def __init__(self, events: list[str]) -> None:
        super().__init__(parts=1)
        self.events = events

    def spread(self, check: Any, items: list[Any], key: bytes) -> Spread[Any, Any]:
        self.events.append("spread")
        spread = RecordingSpread(self, check, items, key)
        spread.events = self.events
        return spread


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    noted: list[str] = []
    lock = Tx.lock_device

    def locked(tx: Tx, device_id: str) -> None:
        lock(tx, device_id)
        noted.append("locked")

    monkeypatch.setattr(Tx, "lock_device", locked)
    return noted


def _expected(db: Database, *, replay: bool = False) -> list[str]:
    if db.parallel_writers:
        return ["spread", "locked", *([] if replay else ["verified"]), "cancelled"]
    return ["spread", "verified", "locked", "cancelled"]


def test_the_records_are_verified_inside_the_transaction_only_with_parallel_writers(
    db: Database, device: SimDevice, clock: ManualClock, events: list[str]
) -> None:
    assert db.parallel_writers == (db.dialect == "postgresql")
    service = IngestService(db, clock, LIMITS, RecordingPool(events))
    chain = device.extend(40)
    body = cbor2.dumps(chain)
    result = service.handle(auth_headers(device, body, clock), body, len(body), "t")
    assert result.accepted == 40 and result.rejected == []
    assert events == _expected(db)
    assert stored(db, device) == chain


def test_a_replay_is_refused_and_its_unchecked_pieces_dropped(
    db: Database, device: SimDevice, clock: ManualClock, events: list[str]
) -> None:
    service = IngestService(db, clock, LIMITS, RecordingPool(events))
    chain = device.extend(3)
    body = cbor2.dumps(chain)
    headers = auth_headers(device, body, clock)
    service.handle(headers, body, len(body), "t")
    events.clear()
    with pytest.raises(Refused) as refused:
        service.handle(headers, body, len(body), "t")
    assert refused.value.code is ErrorCode.REPLAYED_NONCE
    # With parallel writers the replay is refused before its records are verified.
    assert events == _expected(db, replay=True)
    assert stored(db, device) == chain
