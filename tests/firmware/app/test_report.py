"""The daemon's JSON-lines report: a failing report stream never stops the recording threads."""

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware.core.fix import Fix, FixType
from firmware.services.ledger import Ledger, RecordPolicy
from firmware.store.backends.sqlite import Config, create
from firmware.store.identity import create_identity
from firmware.ui.backends.report import Report

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class BrokenPipeStream(io.StringIO):
    """A report reader that went away: every write fails like a closed pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_lines_are_json_objects() -> None:
    stream = io.StringIO()
    Report(stream).write("fix", lat=1.5, sats=9)
    assert json.loads(stream.getvalue()) == {"t": "fix", "lat": 1.5, "sats": 9}


def test_a_failing_stream_is_dropped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    stream = BrokenPipeStream()
    report = Report(stream)
    with caplog.at_level(logging.WARNING, logger="firmware.ui.backends.report"):
        report.write("fix", lat=1.0)
        report.write("fix", lat=2.0)
    assert stream.attempts == 1
    assert sum("report stream failed" in r.getMessage() for r in caplog.records) == 1


def test_a_closed_stream_is_dropped() -> None:
    stream = io.StringIO()
    stream.close()
    Report(stream).write("event", event="boot")  # must not raise ValueError


def test_records_are_still_written_when_the_report_reader_is_gone(tmp_path: Path) -> None:
    clock = ManualClock(wall=START, mono=1000.0)
    identity = create_identity(tmp_path)
    store = create(Config(), data_dir=tmp_path, identity=identity, clock=clock)
    store.start_and_check()
    report = Report(BrokenPipeStream())
    recorder = Ledger(store, identity, clock, RecordPolicy(location_interval_s=10),
                        lambda kind, fields: report.write(kind, **fields))
    recorder.boot({"firmware": "test"})
    for _ in range(3):
        fix = Fix(utc=START, time_key=0, latitude=47.37, longitude=8.54, altitude_m=420.0,
                  quality=1, fix_type=FixType.THREE_D, valid=True, hdop=0.9, pdop=1.4,
                  vdop=1.1, satellites_used=9, received_mono=clock.mono, clock_offset_s=0.1)
        recorder.on_fix(fix)
        clock.advance(10.0)
    kinds = [unverified_record(r.cose).kind for r in store.records()]
    store.stop()
    assert kinds == [Kind.EVENT, Kind.LOCATION, Kind.LOCATION, Kind.LOCATION]
