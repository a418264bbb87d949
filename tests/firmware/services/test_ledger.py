"""The ledger: what becomes a signed record, and how, on a real SQLite store and a manual clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, Record
from fieldcheck_protocol.signature import unverified_record
from firmware.core.fix import EventKind, Fix, FixType, GpsEvent, GpsState
from firmware.core.supervisor_event import (
    BatteryEvent,
    ButtonEvent,
    ButtonPress,
    LinkEvent,
    ResetEvent,
    ResetReason,
    TamperEvent,
)
from firmware.errors import StoreError
from firmware.services.ledger import NO_MODEL, Ledger, RecordPolicy, fix_summary
from firmware.store.backends.sqlite import Config, SqliteRecordStore, create
from firmware.store.identity import create_identity, load_identity
from firmware.version import FIRMWARE_VERSION
from tests.firmware.services.checkin_fakes import MODEL, ScriptedEngine, ledger_for

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def make_fix(clock: ManualClock, **changes: object) -> Fix:
    base = Fix(
        utc=START + timedelta(seconds=clock.mono - 1000.0),
        time_key=0, latitude=47.37, longitude=8.54, altitude_m=420.0, quality=1,
        fix_type=FixType.THREE_D, valid=True, hdop=0.9, pdop=1.4, vdop=1.1,
        satellites_used=9, received_mono=clock.mono, clock_offset_s=0.1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(wall=START, mono=1000.0)


@pytest.fixture()
def store(tmp_path: Path, clock: ManualClock) -> SqliteRecordStore:
    identity = create_identity(tmp_path)
    opened = create(Config(), data_dir=tmp_path, identity=identity, clock=clock)
    assert opened.start_and_check() == []
    return opened


def records(store: SqliteRecordStore) -> list[Record]:
    return [unverified_record(stored.cose) for stored in store.records()]


def kinds(store: SqliteRecordStore) -> list[tuple[str, str | None]]:
    return [(r.kind.value, r.body.get("type")) for r in records(store)]


def test_location_records_follow_the_interval(store: SqliteRecordStore, clock: ManualClock) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=10))
    for _ in range(25):
        ledger.on_fix(make_fix(clock))
        clock.advance(1.0)
    locations = [r for r in records(store) if r.kind is Kind.LOCATION]
    assert len(locations) == 3  # t=0, 10, 20
    assert locations[0].fix is not None and locations[0].fix.mode == "3d"
    assert locations[0].gps_time == START


def test_flagged_and_invalid_fixes_never_become_locations(
    store: SqliteRecordStore, clock: ManualClock
) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=1))
    ledger.on_fix(make_fix(clock, flags=("speed_jump",)))
    ledger.on_fix(make_fix(clock, valid=False, latitude=None, longitude=None,
                             fix_type=FixType.NONE))
    assert kinds(store) == []
    assert ledger.current_fix() == (None, None)


def test_fix_events_become_event_records(store: SqliteRecordStore, clock: ManualClock) -> None:
    ledger = ledger_for(store, clock)
    good = make_fix(clock)
    ledger.on_gps_event(GpsEvent(EventKind.FIX_ACQUIRED, GpsState.NO_FIX, GpsState.FIX_3D,
                                   clock.mono, good))
    ledger.on_gps_event(GpsEvent(EventKind.FIX_LOST, GpsState.FIX_3D, GpsState.NO_FIX,
                                   clock.mono))
    ledger.on_gps_event(GpsEvent(EventKind.STATE_CHANGED, GpsState.FIX_2D, GpsState.FIX_3D,
                                   clock.mono, good))
    ledger.on_gps_event(GpsEvent(EventKind.FIX_REGAINED, GpsState.NO_FIX, GpsState.FIX_2D,
                                   clock.mono, good))
    assert kinds(store) == [("event", "fix_regained"), ("event", "fix_lost"),
                            ("event", "fix_regained")]
    first = records(store)[0]
    assert first.body["details"]["first"] is True
    assert first.fix is not None and first.fix.lat == pytest.approx(47.37)


def test_events_carry_the_latest_fresh_fix(store: SqliteRecordStore, clock: ManualClock) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=1e9, fix_max_age_s=30))
    ledger.on_fix(make_fix(clock))
    clock.advance(5)
    ledger.event("camera_fault", {"detail": "test"})
    clock.advance(60)
    ledger.event("camera_fault", {"detail": "stale"})
    events = [r for r in records(store) if r.kind is Kind.EVENT]
    assert events[0].fix is not None and events[0].fix.age_s == pytest.approx(5.0)
    assert events[1].fix is None  # older than fix_max_age_s: recorded as absent, not stale


def test_supervisor_events(store: SqliteRecordStore, clock: ManualClock) -> None:
    ledger = ledger_for(store, clock)
    ledger.on_supervisor(TamperEvent(START, strap_open=True, mcu_uptime_ms=5))
    ledger.on_supervisor(BatteryEvent(START, 3900, 80, low=False, critical=False))
    ledger.on_supervisor(BatteryEvent(START, 3600, 14, low=True, critical=False))
    ledger.on_supervisor(BatteryEvent(START, 3590, 13, low=True, critical=False))
    ledger.on_supervisor(ResetEvent(START, ResetReason.WATCHDOG, 130000, 1))
    ledger.on_supervisor(ResetEvent(START, ResetReason.POWER_ON, 0, 1))
    ledger.on_supervisor(LinkEvent(START, up=False, detail="port vanished"))
    ledger.on_supervisor(LinkEvent(START, up=True, detail="back"))
    ledger.on_supervisor(ButtonEvent(START, ButtonPress.SHORT, 120))
    assert kinds(store) == [
        ("event", "tamper"), ("event", "battery"), ("event", "watchdog_reset"),
        ("event", "supervisor_fault"),
    ]
    battery = records(store)[1].body["details"]
    assert battery["level"] == "low" and battery["percent"] == 14


def test_clock_jump_against_gps_time(store: SqliteRecordStore, clock: ManualClock) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=1e9, clock_jump_s=2.0))
    ledger.on_fix(make_fix(clock, clock_offset_s=0.2))
    ledger.on_fix(make_fix(clock, clock_offset_s=0.9))  # drift within tolerance
    ledger.on_fix(make_fix(clock, clock_offset_s=-3600.0))  # someone set the clock an hour on
    events = [r.body for r in records(store) if r.kind is Kind.EVENT]
    assert [e["type"] for e in events] == ["clock_jump"]
    assert events[0]["details"]["offset_s"] == -3600.0


def test_fix_summary_of_a_2d_fix(clock: ManualClock) -> None:
    fix = make_fix(clock, fix_type=FixType.TWO_D, altitude_m=None)
    clock.advance(2.5)
    summary = fix_summary(fix, clock.monotonic())
    assert summary is not None
    assert (summary.mode, summary.alt_m, summary.age_s) == ("2d", None, 2.5)


def test_a_failed_location_write_is_retried_with_the_next_fix(
    store: SqliteRecordStore, clock: ManualClock
) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=60))
    real_append = store.append

    def full(*args: object, **kwargs: object) -> None:
        raise StoreError("database is full")

    store.append = full  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        ledger.on_fix(make_fix(clock))
    store.append = real_append  # type: ignore[method-assign]
    clock.advance(1.0)
    ledger.on_fix(make_fix(clock))  # not a whole interval later: the missed one is due
    assert [r.kind for r in records(store)] == [Kind.LOCATION]


def test_records_name_the_firmware_and_the_loaded_model_or_none(
    store: SqliteRecordStore, clock: ManualClock
) -> None:
    ledger = ledger_for(store, clock)
    ledger.boot({"firmware": "test"})  # the model is not loaded yet at boot
    engine = ScriptedEngine([])
    ledger.attach_model(engine)
    ledger.event("power", {"external": True})  # attached, not started: still none
    engine.start()
    ledger.event("power", {"external": False})
    engine.stop()
    ledger.event("power", {"external": True})
    assert [r.model_version for r in records(store)] == [NO_MODEL, NO_MODEL, MODEL, NO_MODEL]
    assert {r.firmware_version for r in records(store)} == {FIRMWARE_VERSION}


def test_a_ledger_refuses_the_store_of_another_device(
    tmp_path: Path, store: SqliteRecordStore, clock: ManualClock
) -> None:
    stranger = create_identity(tmp_path / "other")
    with pytest.raises(StoreError, match="belongs to"):
        Ledger(store, stranger, clock)
    assert Ledger(store, load_identity(tmp_path), clock).device_id == store.device_id


def test_a_ledger_whose_store_moved_on_refuses_once_then_follows(
    store: SqliteRecordStore, clock: ManualClock
) -> None:
    """It keeps the head of its own last commit; another writer makes that stale, never a fork."""
    ours, theirs = ledger_for(store, clock), ledger_for(store, clock)
    ours.boot({"firmware": "test"})
    theirs.event("power", {"external": True})  # e.g. a second process on the same file
    with pytest.raises(StoreError, match="another process writes this store"):
        ours.event("power", {"external": False})
    assert ours.event("power", {"external": False}).record.seq == 2
    assert store.verify_chain() == [] and [r.seq for r in records(store)] == [0, 1, 2]


def test_location_interval_zero_writes_no_location_records_but_keeps_the_fix_for_check_ins(
    store: SqliteRecordStore, clock: ManualClock
) -> None:
    ledger = ledger_for(store, clock, RecordPolicy(location_interval_s=0))
    for _ in range(5):
        ledger.on_fix(make_fix(clock))
        clock.advance(1.0)
    assert [r for r in records(store) if r.kind is Kind.LOCATION] == []
    summary, _ = ledger.current_fix()  # what a check-in record carries
    assert summary is not None and summary.lat == pytest.approx(47.37)
