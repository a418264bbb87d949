"""Player timing on a manual clock: epoch schedule, time scale, baud pacing, stopping."""

import logging
from dataclasses import dataclass, field

import pytest

from fieldcheck_protocol.clock import ManualClock
from host_tools.gpssim.player import Burst, Player


@dataclass
class RecordingTransport:
    """Keeps every write with the monotonic time it happened at."""

    clock: ManualClock
    writes: list[tuple[float, bytes]] = field(default_factory=list)
    services: int = 0

    def announce(self) -> str:
        return "TEST"

    def service(self) -> None:
        self.services += 1

    def write(self, data: bytes) -> None:
        self.writes.append((self.clock.monotonic(), data))

    def close(self) -> None:
        return None


def _player(
    baud: int, scale: float = 1.0, stop_after: float | None = None
) -> tuple[Player, RecordingTransport]:
    clock = ManualClock(mono=100.0)
    transport = RecordingTransport(clock)

    def wait(seconds: float) -> bool:
        clock.advance(seconds)
        return stop_after is not None and clock.monotonic() - 100.0 >= stop_after

    return Player(transport, clock, wait, baud, scale), transport


def test_bursts_start_at_their_offset_divided_by_the_time_scale() -> None:
    player, transport = _player(115200, scale=6.0)
    bursts = [Burst(float(k), (b"$A\r\n",)) for k in range(7)]
    assert player.play(bursts)
    times = [t - 100.0 for t, _ in transport.writes]
    assert times == pytest.approx([k / 6.0 for k in range(7)])
    assert transport.services == 7 and player.stats.bursts == 7 and player.stats.late_bursts == 0


def test_writes_are_paced_at_ten_bits_per_byte() -> None:
    player, transport = _player(9600)
    assert player.play([Burst(0.0, (b"x" * 96, b"y" * 48, b"z"))])
    times = [t - 100.0 for t, _ in transport.writes]
    # 96 bytes at 9600 baud take 100 ms on the wire, the next 48 take 50 ms.
    assert times == pytest.approx([0.0, 0.1, 0.15])


def test_the_wire_runs_on_simulated_time() -> None:
    player, transport = _player(9600, scale=10.0)
    assert player.play([Burst(0.0, (b"x" * 960, b"y"))])
    assert transport.writes[1][0] - 100.0 == pytest.approx(0.1)


def test_an_epoch_too_big_for_the_baud_rate_warns_and_falls_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    player, transport = _player(9600)
    bursts = [Burst(k * 0.1, (b"x" * 500,)) for k in range(5)]  # 10 Hz, 520 ms per epoch
    with caplog.at_level(logging.WARNING):
        assert player.play(bursts)
    assert "falls behind" in caplog.text
    assert player.stats.late_bursts == 4
    times = [t - 100.0 for t, _ in transport.writes]
    assert times[-1] == pytest.approx(4 * 500 * 10 / 9600)


def test_a_stop_request_ends_between_writes() -> None:
    player, transport = _player(115200, stop_after=2.5)
    assert not player.play(Burst(float(k), (b"$A\r\n",)) for k in range(10))
    assert len(transport.writes) == 3
