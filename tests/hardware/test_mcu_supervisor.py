"""The supervisor wired together: tamper, watchdog power cycles, reset reasons, config, board."""

from pathlib import Path

import frame
import pytest
import resetlog
import supervisor


def decode_all(frames: list[bytes]) -> list[tuple[int, int, tuple[int, ...]]]:
    """(type, seq, field values) of each written frame."""
    out = []
    for wire in frames:
        mtype, seq, payload = frame.decode(wire[:-1])
        out.append((mtype, seq, frame.unpack(mtype, payload)))
    return out


class Pi:
    """The Pi's side, reduced to what the supervisor sees: heartbeats and ACKs."""

    def __init__(self, logic: supervisor.Supervisor) -> None:
        self.logic = logic
        self.seq = 0
        self.received: list[tuple[int, int, tuple[int, ...]]] = []

    def exchange(self, now: int, extra: bytes = b"", beat: bool = True) -> None:
        data = extra
        if beat:
            self.seq = (self.seq + 1) & 0xFF
            data += frame.encode(frame.HEARTBEAT, self.seq, b"")
        written = self.logic.receive(now, data) + self.logic.poll(now)
        for mtype, seq, values in decode_all(written):
            self.received.append((mtype, seq, values))
            if mtype in frame.RELIABLE:
                self.logic.receive(now, frame.encode(frame.ACK, seq, b""))

    def kinds(self, mtype: int) -> list[tuple[int, ...]]:
        return [values for kind, _, values in self.received if kind == mtype]


@pytest.fixture
def log(tmp_path: Path) -> resetlog.ResetLog:
    return resetlog.ResetLog(str(tmp_path / "reset.bin"))


def test_first_boot_reports_power_on_then_heartbeats_are_answered(log: resetlog.ResetLog) -> None:
    logic = supervisor.Supervisor(0, log, resetlog.POWER_ON)
    pi = Pi(logic)
    for now in range(0, 3000, 500):
        logic.inputs(now, False, False, True)
        pi.exchange(now)
    assert pi.kinds(frame.RESET_REASON) == [(resetlog.POWER_ON, 0, 0)]
    assert pi.kinds(frame.POWER) == [(1,)]  # PGOOD settled after 500 ms
    acks = pi.kinds(frame.HEARTBEAT_ACK)
    assert len(acks) == 6 and acks[-1][1] == supervisor.STATUS_EXTERNAL_POWER
    assert log.load()[3] == 0  # nothing pending once the Pi has acknowledged


def test_tamper_is_debounced_reported_and_retried_until_acked(log: resetlog.ResetLog) -> None:
    logic = supervisor.Supervisor(0, log, resetlog.POWER_ON)
    pi = Pi(logic)
    pi.exchange(0)
    for now in range(10, 400, 10):
        logic.inputs(now, now >= 100, False, False)
    written = logic.poll(400)
    tampers = [v for k, _, v in decode_all(written) if k == frame.TAMPER]
    assert tampers and tampers[0][0] == 1 and tampers[0][1] >= 290
    assert logic.poll(900) == written  # not acknowledged: sent again after the retransmit time


def test_silence_power_cycles_the_pi_and_the_reason_survives_an_mcu_reset(
    log: resetlog.ResetLog,
) -> None:
    logic = supervisor.Supervisor(0, log, resetlog.POWER_ON)
    pi = Pi(logic)
    pi.exchange(1000)
    now = 1000 + logic.watchdog.timeout_ms + 1
    logic.poll(now)
    assert logic.pi_power is False
    assert log.load() == (resetlog.WATCHDOG, logic.watchdog.timeout_ms + 1, 1, 1)
    # The MCU itself resets while the Pi is off; after restart it still knows why.
    restarted = supervisor.Supervisor(0, log, resetlog.MCU_RESET)
    pi = Pi(restarted)
    pi.exchange(100)
    assert pi.kinds(frame.RESET_REASON) == [(resetlog.WATCHDOG, logic.watchdog.timeout_ms + 1, 1)]
    assert log.load()[3] == 0


def test_power_is_restored_after_the_off_time(log: resetlog.ResetLog) -> None:
    logic = supervisor.Supervisor(0, log, resetlog.POWER_ON)
    logic.poll(logic.watchdog.boot_grace_ms + 1)  # never heard from the Pi at all
    assert logic.pi_power is False
    logic.poll(logic.watchdog.boot_grace_ms + 1 + logic.watchdog.off_ms)
    assert logic.pi_power is True


def test_set_config_is_applied_or_refused(log: resetlog.ResetLog) -> None:
    logic = supervisor.Supervisor(0, log, resetlog.POWER_ON)
    good = frame.encode(frame.SET_CONFIG, 1, frame.pack(frame.SET_CONFIG, (60, 120, 20)))
    bad = frame.encode(frame.SET_CONFIG, 2, frame.pack(frame.SET_CONFIG, (5, 120, 20)))
    replies = decode_all(logic.receive(0, good + bad))
    assert replies == [(frame.ACK, 1, ()), (frame.NACK, 2, (frame.NACK_VALUE,))]
    assert logic.watchdog.timeout_ms == 60000 and logic.gauge.interval_ms == 120000
    assert logic.gauge.low_percent == 20


def test_requested_shutdown_sleeps_and_a_tamper_wakes_the_pi(log: resetlog.ResetLog) -> None:
    logic = supervisor.Supervisor(0, log, resetlog.POWER_ON)
    pi = Pi(logic)
    pi.exchange(0)
    request = frame.encode(frame.SHUTDOWN, 9, frame.pack(frame.SHUTDOWN, (2, 0)))
    assert decode_all(logic.receive(10, request)) == [(frame.ACK, 9, ())]
    logic.poll(2010)
    assert logic.pi_power is False
    assert log.load()[0] == resetlog.REQUESTED
    for now in range(2020, 2400, 10):
        logic.inputs(now, True, False, False)
    assert logic.pi_power is True


def test_board_drives_real_pins_through_the_fake_machine(
    fake_machine: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.hardware import fake_machine as fm

    monkeypatch.chdir(tmp_path)  # reset.bin is written to the working directory
    import main

    fm.I2C.registers[(0x36, 0x02)] = b"\xb8\xe0"
    fm.I2C.registers[(0x36, 0x04)] = b"\x32\x00"

    class Wire(main.Port):
        def __init__(self) -> None:
            self.inbound = frame.encode(frame.HEARTBEAT, 1, b"")
            self.outbound = bytearray()

        def read(self) -> bytes:
            data, self.inbound = self.inbound, b""
            return data

        def write(self, data: bytes) -> None:
            self.outbound += data

    wire = Wire()
    board = main.Board(wire, 0)
    assert fm.Pin.levels[main.PIN_PI_ENABLE] == 1
    board.step(0)
    frames = [f + b"\x00" for f in frame.Splitter().feed(bytes(wire.outbound))]
    kinds = [k for k, _, _ in decode_all(frames)]
    assert frame.HEARTBEAT_ACK in kinds and frame.RESET_REASON in kinds
    assert board.logic.gauge.has_read  # the gauge was read over the fake I2C bus
    fm.Pin.levels[main.PIN_STRAP] = 1  # loop opens
    for now in range(10, 400, 10):
        board.step(now)
    assert board.logic.strap.state is True
    assert fm.Pin.levels[main.PIN_PI_ENABLE] == 1
