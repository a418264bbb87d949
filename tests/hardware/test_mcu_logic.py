"""The MCU's logic classes stepped with a fake millisecond clock under CPython."""

from pathlib import Path

import debounce
import frame
import gauge
import link
import resetlog
import ticks
import watchdog


def test_ticks_wrap_like_micropython() -> None:
    near_end = ticks.PERIOD - 10
    assert ticks.add(near_end, 25) == 15
    assert ticks.diff(15, near_end) == 25
    assert ticks.diff(near_end, 15) == -25


def test_debouncer_ignores_bounces_shorter_than_the_window() -> None:
    strap = debounce.Debouncer(200, False, now=0)
    changes = [
        strap.update(raw, t) for t, raw in ((10, True), (50, False), (60, True), (200, True))
    ]
    assert changes == [False, False, False, False] and strap.state is False
    assert strap.update(True, 260) is True and strap.state is True
    assert strap.update(True, 400) is False


def test_button_reports_short_and_long_presses_on_release() -> None:
    button = debounce.Button(now=0, debounce_ms=30, long_ms=2000)
    events = []
    for t in range(0, 4000, 10):
        pressed = 100 <= t < 400 or 1000 <= t < 3500
        result = button.update(pressed, t)
        if result:
            events.append(result)
    assert events == [(debounce.SHORT, 300), (debounce.LONG, 2500)]


def test_watchdog_trips_after_silence_and_powers_back_on() -> None:
    dog = watchdog.Watchdog(now=0, timeout_ms=1000, boot_grace_ms=5000, off_ms=300)
    dog.heartbeat(100)
    assert dog.poll(1100) == watchdog.NOTHING
    assert dog.poll(1101) == watchdog.TRIPPED
    assert dog.power is False and dog.last_silence_ms == 1001 and dog.trips == 1
    assert dog.poll(1300) == watchdog.NOTHING
    assert dog.poll(1401) == watchdog.POWERED_ON and dog.power is True
    assert dog.state == watchdog.BOOT


def test_watchdog_gives_a_booting_pi_its_grace_period() -> None:
    dog = watchdog.Watchdog(now=0, timeout_ms=1000, boot_grace_ms=5000, off_ms=300)
    assert dog.poll(4999) == watchdog.NOTHING
    assert dog.poll(5001) == watchdog.TRIPPED


def test_requested_sleep_wakes_on_time_or_on_the_button() -> None:
    dog = watchdog.Watchdog(now=0, timeout_ms=1000)
    dog.heartbeat(10)
    dog.shutdown(20, delay_ms=500, wake_after_ms=10000)
    assert dog.poll(400) == watchdog.NOTHING and dog.power  # halting: no trip during the delay
    assert dog.poll(520) == watchdog.SLEPT and not dog.power
    assert dog.poll(10519) == watchdog.NOTHING
    assert dog.poll(10520) == watchdog.POWERED_ON and dog.power
    dog.shutdown(20000, delay_ms=0, wake_after_ms=0)
    assert dog.poll(20000) == watchdog.SLEPT
    assert dog.poll(900000) == watchdog.NOTHING  # wake_after 0: stays off
    assert dog.wake(900001) is True and dog.power


def test_gauge_decodes_max17048_registers_and_flags_low_charge() -> None:
    meter = gauge.Gauge(interval_ms=1000, low_percent=15, critical_percent=5)
    assert meter.due(0)
    # VCELL 0xB8E0 = 47328 LSB * 78.125 uV = 3697.5 mV; SOC 0x0E80 = 14.5 %.
    assert meter.reading(0, b"\xb8\xe0", b"\x0e\x80") == (3697, 14, gauge.LOW)
    assert not meter.due(999) and meter.due(1000)
    assert meter.reading(1000, b"\xa8\x00", b"\x04\x00")[2] == gauge.LOW | gauge.CRITICAL
    assert gauge.percent(b"\x65\x00") == 100  # the gauge can report a little over 100 %


def test_reset_log_survives_and_reads_damage_as_power_on(tmp_path: Path) -> None:
    log = resetlog.ResetLog(str(tmp_path / "reset.bin"))
    assert log.load() == (resetlog.POWER_ON, 0, 0, 0)
    log.save(resetlog.WATCHDOG, 125000, 3, 1)
    assert resetlog.ResetLog(log.path).load() == (resetlog.WATCHDOG, 125000, 3, 1)
    (tmp_path / "reset.bin").write_bytes(b"\x01\x02")
    assert log.load() == (resetlog.POWER_ON, 0, 0, 0)


def heartbeat(seq: int) -> bytes:
    return frame.encode(frame.HEARTBEAT, seq, b"")


def test_link_sends_only_when_connected_and_retransmits_until_acked() -> None:
    mcu = link.Link(retransmit_ms=100, max_retries=2)
    mcu.post(frame.TAMPER, frame.pack(frame.TAMPER, (1, 5)))
    assert mcu.poll(0) == []  # nobody listening yet
    mcu.connected = True
    first = mcu.poll(0)
    assert frame.decode(first[0][:-1])[:2] == (frame.TAMPER, 1)
    assert mcu.poll(50) == [] and mcu.poll(100) == first
    out, inbox, acked = mcu.receive(frame.encode(frame.ACK, 1, b""))
    assert (out, inbox, acked) == ([], [], [frame.TAMPER])
    assert mcu.poll(200) == []


def test_link_keeps_unacknowledged_messages_for_the_next_connection() -> None:
    mcu = link.Link(retransmit_ms=100, max_retries=1)
    mcu.connected = True
    mcu.post(frame.BUTTON, frame.pack(frame.BUTTON, (1, 100)))
    sent = [mcu.poll(t) for t in (0, 100, 200)]
    assert [len(s) for s in sent] == [1, 1, 0]
    assert mcu.connected is False and len(mcu.queue) == 1
    mcu.connected = True
    again = mcu.poll(300)
    assert frame.decode(again[0][:-1])[0] == frame.BUTTON


def test_link_coalesces_state_reports_and_bounds_the_queue() -> None:
    mcu = link.Link(capacity=3)
    for percent in (50, 49, 48):
        mcu.post(frame.BATTERY, frame.pack(frame.BATTERY, (3700, percent, 0)))
    assert len(mcu.queue) == 1 and frame.unpack(frame.BATTERY, mcu.queue[0][1])[1] == 48
    for uptime in range(4):
        mcu.post(frame.TAMPER, frame.pack(frame.TAMPER, (1, uptime)))
    assert len(mcu.queue) == 3 and mcu.dropped == 2


def test_link_reacks_retransmissions_and_nacks_unreadable_types() -> None:
    mcu = link.Link()
    config = frame.encode(frame.SET_CONFIG, 4, frame.pack(frame.SET_CONFIG, (60, 60, 10)))
    out, inbox, _ = mcu.receive(config)
    assert out == [] and [m[0] for m in inbox] == [frame.SET_CONFIG]
    mcu.accept(*inbox[0])
    out, inbox, _ = mcu.receive(config)
    assert inbox == [] and out == [frame.encode(frame.ACK, 4, b"")]
    body = bytes((1, 0x55, 9))
    crc = frame.crc16(body)
    bad = frame.cobs_encode(body + bytes((crc >> 8, crc & 0xFF))) + b"\x00"
    out, inbox, _ = mcu.receive(bad + heartbeat(1))
    assert out == [frame.encode(frame.NACK, 9, bytes((frame.NACK_TYPE,)))]
    assert [m[0] for m in inbox] == [frame.HEARTBEAT]
