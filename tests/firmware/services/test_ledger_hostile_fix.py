"""A fix no record can carry (nan altitude, nan hdop, satellites out of range) never stops the
records after it: the location record is dropped and counted, events and check-ins go without fix.

Issue 8 measured it with the daemon: persistent nan altitude, 2 button presses, 0 check-ins.
"""

import logging
import math
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, Record
from fieldcheck_protocol.signature import unverified_record
from firmware.core.fix import Fix, FixType
from firmware.core.supervisor_event import TamperEvent
from firmware.services.checkin import CheckinService
from firmware.services.ledger import Ledger, RecordPolicy
from firmware.services.schedule import CheckinSettings
from firmware.store.backends.sqlite import SqliteRecordStore
from tests.firmware.services.checkin_fakes import (
    MATCH,
    FixedTemplates,
    ScriptedCamera,
    ScriptedEngine,
    a_template,
    ledger_for,
    opened_store,
)

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def a_fix(clock: ManualClock, **changes: object) -> Fix:
    base = Fix(utc=START + timedelta(seconds=clock.mono - 1000.0), time_key=0, latitude=47.37,
               longitude=8.54, altitude_m=420.0, quality=1, fix_type=FixType.THREE_D,
               valid=True, hdop=0.9, pdop=1.4, vdop=1.1, satellites_used=9,
               received_mono=clock.mono, clock_offset_s=0.1)
    return replace(base, **changes)  # type: ignore[arg-type]


def records(store: SqliteRecordStore) -> list[Record]:
    return [unverified_record(r.cose) for r in store.records(limit=10_000)]


def check_in(store: SqliteRecordStore, ledger: Ledger, clock: ManualClock) -> None:
    camera, engine = ScriptedCamera([]), ScriptedEngine([MATCH])
    camera.start()
    engine.start()
    CheckinService(camera, engine, FixedTemplates(a_template()), ledger,
                   CheckinSettings(attempts=1), sleep=lambda s: None, clock=clock).run("button")


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(wall=START, mono=1000.0)


@pytest.mark.parametrize("bad", [
    {"altitude_m": math.nan}, {"altitude_m": math.inf}, {"altitude_m": float("1e309")},
    {"hdop": math.nan}, {"satellites_used": 256}, {"satellites_used": -1},
])
def test_events_and_check_ins_after_an_unrecordable_fix_are_written_without_it(
        store: SqliteRecordStore, clock: ManualClock, caplog: pytest.LogCaptureFixture,
        bad: dict[str, object]) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=1))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # persistent: every epoch carries the bad field
            ledger.on_fix(a_fix(clock, **bad))
            clock.advance(1)
        ledger.on_supervisor(TamperEvent(START, strap_open=True, mcu_uptime_ms=5))
        check_in(store, ledger, clock)
        check_in(store, ledger, clock)
    written = records(store)
    assert [(r.kind, r.body.get("type")) for r in written] == [
        (Kind.EVENT, "tamper"), (Kind.CHECKIN, None), (Kind.CHECKIN, None)]
    assert all(r.fix is None and r.gps_time is None for r in written)  # "no fix", not lost
    assert ledger.counts.locations_dropped == 3 and ledger.counts.written_without_fix == 3
    dropped = [r for r in caplog.records if "location record dropped" in r.getMessage()]
    assert len(dropped) == 1  # logged once, counted every time
    ledger.on_fix(a_fix(clock))  # the GPS recovers: locations resume at once
    assert records(store)[-1].kind is Kind.LOCATION and records(store)[-1].fix is not None


def test_a_gps_time_no_record_can_carry_degrades_the_record_to_no_fix(
        store: SqliteRecordStore, clock: ManualClock) -> None:
    ledger = ledger_for(store, clock)
    appended = ledger.write(Kind.EVENT, {"type": "power"},
                            gps_time=datetime(1969, 12, 31, tzinfo=UTC))
    assert appended.record.gps_time is None and ledger.counts.written_without_fix == 1


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e3, max_value=1e4)
hostile = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf), finite,
                    st.floats(min_value=1e300, max_value=1e308), st.none())
counts = st.one_of(st.integers(min_value=-(2**40), max_value=2**40), st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(altitude=hostile, hdop=hostile, sats=counts)
def test_no_fix_value_ever_blocks_an_event_or_a_check_in(altitude, hdop, sats) -> None:
    clock = ManualClock(wall=START, mono=1000.0)
    with tempfile.TemporaryDirectory() as folder:
        stores = opened_store(Path(folder), clock)
        store = next(stores)
        ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=1))
        ledger.on_fix(a_fix(clock, altitude_m=altitude, hdop=hdop, satellites_used=sats))
        ledger.on_supervisor(TamperEvent(START, strap_open=False, mcu_uptime_ms=9))
        check_in(store, ledger, clock)
        kinds = [r.kind for r in records(store)]
        recordable = (altitude is None or math.isfinite(altitude)) and (
            hdop is None or math.isfinite(hdop)) and (sats is None or 0 <= sats <= 255)
        assert kinds == ([Kind.LOCATION] if recordable else []) + [Kind.EVENT, Kind.CHECKIN]
        assert ledger.counts.locations_dropped == (0 if recordable else 1)
        assert store.verify_chain() == []
        stores.close()
