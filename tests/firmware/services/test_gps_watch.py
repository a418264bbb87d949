"""The GPS watch service with a scripted source and a manual clock (no real time, no port)."""

import logging
import threading
from collections import deque
from typing import Any

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.core.fix import EventKind, Fix, GpsEvent, GpsState
from firmware.core.nmea import build_sentence
from firmware.core.utc_day import FixedClockSync
from firmware.errors import GpsError, StoreError
from firmware.gps.base import GpsSource
from firmware.gps.settings import ReaderSettings
from firmware.services.gps_watch import GpsWatch


def epoch(second: int, valid: bool = True) -> bytes:
    t = f"1200{second:02d}.00"
    if valid:
        rmc = f"GNRMC,{t},A,4807.038,N,01131.000,E,0.5,84.4,241126,,,A,V"
        gga = f"GNGGA,{t},4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,"
        gsa = "GNGSA,A,3,01,02,03,04,05,,,,,,,,1.5,0.9,1.2,1"
    else:
        rmc = f"GNRMC,{t},V,,,,,,,241126,,,N,V"
        gga = f"GNGGA,{t},,,,,0,00,99.99,,,,,,"
        gsa = "GNGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99,1"
    return "".join(build_sentence(s) for s in (rmc, gga, gsa)).encode()


class ScriptedSource(GpsSource):
    """Plays a script of reads: bytes, or a GpsError to raise; each read advances the clock."""

    describe = "/dev/ttyTEST at 9600 baud"

    def __init__(self, clock: ManualClock, script: list[bytes | GpsError]) -> None:
        self.clock = clock
        self.script: deque[bytes | GpsError] = deque(script)
        self.open_failures = 0
        self.starts = 0

    def _start(self) -> None:
        if self.open_failures:
            self.open_failures -= 1
            raise GpsError("cannot open GPS port /dev/ttyTEST", "plug it in")
        self.starts += 1

    def _stop(self) -> None:
        return None

    def read(self, timeout: float) -> bytes:
        self.clock.advance(timeout if not self.script else 0.2)
        item = self.script.popleft() if self.script else b""
        if isinstance(item, GpsError):
            raise item
        return item


class Recorder:
    def __init__(self) -> None:
        self.fixes: list[Fix] = []
        self.events: list[GpsEvent] = []


def make(
    script: list[bytes | GpsError], **settings: Any
) -> tuple[GpsWatch, ScriptedSource, Recorder]:
    clock = ManualClock()
    source = ScriptedSource(clock, script)
    rec = Recorder()
    config = ReaderSettings(**settings)
    watch = GpsWatch(
        source, clock, rec.fixes.append, rec.events.append, config, clock_sync=FixedClockSync()
    )
    return watch, source, rec


def run_steps(watch: GpsWatch, source: ScriptedSource, steps: int) -> None:
    for _ in range(steps):
        wait = watch.step()
        source.clock.advance(wait)


def test_fixes_and_events_reach_the_callbacks() -> None:
    data = epoch(0) + epoch(1) + epoch(2)
    watch, source, rec = make([data[:50], data[50:300], data[300:]], hysteresis_epochs=2)
    run_steps(watch, source, 3)
    assert len(rec.fixes) == 2 and all(f.valid for f in rec.fixes)  # third epoch still open
    assert [e.kind for e in rec.events] == [EventKind.FIX_ACQUIRED]
    stats = watch.stats()
    assert stats.state is GpsState.FIX_3D and stats.last_fix == rec.fixes[-1]
    assert stats.counts.accepted == {"RMC": 3, "GGA": 3, "GSA": 3}
    assert stats.epochs == 2 and stats.fixes_by_type == {"3d": 2}
    assert stats.port_open and stats.source == source.describe


def test_garbage_and_bad_checksums_are_counted_not_fatal() -> None:
    bad = epoch(0).replace(b"4807.038", b"4807.039", 1)  # one digit flipped on the wire
    watch, source, rec = make([b"\xb5\x62\x00\xff" * 20, bad, epoch(1), epoch(2)])
    run_steps(watch, source, 4)
    counts = watch.stats().counts
    assert counts.rejected["garbage"] == 1 and counts.rejected["checksum_bad"] == 1
    assert len(rec.fixes) == 2


def test_silence_warns_once_with_what_to_check(caplog: pytest.LogCaptureFixture) -> None:
    watch, source, rec = make([epoch(0), epoch(1)], silence_warning_s=10.0)
    caplog.set_level(logging.INFO)
    run_steps(watch, source, 2 + 30)  # 30 empty reads of 0.5 s = 15 s of silence
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "/dev/ttyTEST at 9600 baud" in warnings[0] and "enable_uart=1" in warnings[0]
    assert "baud rate" in warnings[0] and "wiring" in warnings[0]
    assert watch.stats().state is GpsState.NO_DATA
    assert [e.kind for e in rec.events] == [EventKind.FIX_ACQUIRED, EventKind.FIX_LOST]
    source.script.extend([epoch(5), epoch(6)])
    run_steps(watch, source, 2)
    assert any("arrive again" in r.getMessage() for r in caplog.records)
    assert rec.events[-1].kind is EventKind.FIX_REGAINED


def test_bytes_without_valid_sentences_blame_the_baud_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    noise = bytes(range(0x80, 0xFF)) * 2
    watch, source, _ = make([noise] * 60, silence_warning_s=10.0)
    run_steps(watch, source, 60)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "although bytes arrive" in warning and "baud rate" in warning


def test_vanished_port_is_reopened_with_backoff_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = GpsError("GPS port /dev/ttyTEST went away: [Errno 5] EIO", "check the cable")
    watch, source, rec = make([epoch(0), epoch(1), gone, epoch(2), epoch(3)])
    caplog.set_level(logging.INFO)
    run_steps(watch, source, 2)
    watch.step()  # the read fails
    assert not source.running and watch.stats().state is GpsState.NO_DATA
    source.open_failures = 3
    delays = []
    for _ in range(5):
        delay = watch.step()
        delays.append(delay)
        source.clock.advance(delay)
    # 1 s after the read failure, then three failed reopens back off 2, 4, 8 s; the fifth works.
    assert delays == [1.0, 2.0, 4.0, 8.0, 0.0]
    run_steps(watch, source, 3)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("is back after" in m for m in messages) == 1
    assert watch.stats().reopens == 1 and source.starts == 2
    assert rec.events[-1].kind is EventKind.FIX_REGAINED


def test_thread_survives_a_crashing_callback_and_stops_cleanly() -> None:
    clock = ManualClock()
    source = ScriptedSource(clock, [epoch(0), epoch(1), epoch(2), epoch(3)])
    seen: list[Fix] = []
    done = threading.Event()

    def on_fix(fix: Fix) -> None:
        seen.append(fix)
        if len(seen) == 1:
            raise RuntimeError("a bug in the consumer")
        done.set()

    watch = GpsWatch(source, clock, on_fix, lambda e: None, read_timeout_s=0.01)
    watch.start()
    try:
        assert done.wait(5.0)
    finally:
        watch.stop()
    assert not watch.running and not source.running
    assert watch.stats().loop_errors == 1 and len(seen) >= 2


def test_a_refused_fix_does_not_cost_the_event_after_it(caplog: pytest.LogCaptureFixture) -> None:
    """The store refusing one write (disk full) must not swallow the fix-acquired event."""
    clock = ManualClock()
    source = ScriptedSource(clock, [epoch(0) + epoch(1) + epoch(2)])
    events: list[GpsEvent] = []

    def refuse(fix: Fix) -> None:
        raise StoreError("database is full", "free space on the data partition")

    watch = GpsWatch(source, clock, refuse, events.append, ReaderSettings(hysteresis_epochs=2))
    with caplog.at_level(logging.ERROR):
        run_steps(watch, source, 1)
    assert [e.kind for e in events] == [EventKind.FIX_ACQUIRED]
    assert watch.stats().loop_errors == 2  # both fixes were refused, and counted
    assert "GPS output not recorded: database is full" in caplog.text


def test_each_epochs_fix_is_delivered_in_the_read_that_completes_it() -> None:
    """Once the cycle (RMC GGA GSA) is learned, no fix waits for the next epoch's bytes."""
    watch, source, rec = make([epoch(s) for s in range(6)])
    delivered = []
    for _ in range(6):
        watch.step()
        delivered.append(len(rec.fixes))
    # Epochs 0-2 teach the cycle (each closed by the next one); from epoch 3 on, one read, one fix.
    assert delivered == [0, 1, 2, 4, 5, 6]
    assert [f.time_key for f in rec.fixes] == [43_200_000 + 1000 * s for s in range(6)]


def test_a_quiet_line_after_a_burst_delivers_the_epoch_while_learning() -> None:
    watch, source, rec = make([epoch(0)], epoch_gap_s=0.3)
    watch.step()
    assert rec.fixes == []
    watch.step()  # an empty read: 0.5 s without a sentence, the burst is over
    assert [f.time_key for f in rec.fixes] == [43_200_000]
    assert rec.fixes[0].received_mono == pytest.approx(1000.2)  # stamped at arrival, not delivery


def test_gga_only_receiver_is_dated_by_a_synchronised_clock_only() -> None:
    gga = "".join(
        build_sentence(f"GPGGA,1200{s:02d}.00,4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,")
        for s in range(2)
    ).encode()
    for synced, expected in ((True, "system_clock"), (False, None)):
        clock = ManualClock()
        source = ScriptedSource(clock, [gga])
        fixes: list[Fix] = []
        watch = GpsWatch(
            source, clock, fixes.append, lambda e: None, clock_sync=FixedClockSync(synced)
        )
        for _ in range(2):
            watch.step()
        assert len(fixes) == 2
        assert [f.date_source.value if f.date_source else None for f in fixes] == [expected] * 2
        assert all((f.utc is not None) == synced for f in fixes)
