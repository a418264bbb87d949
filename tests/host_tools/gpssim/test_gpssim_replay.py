"""Replay: epochs and timing derived from sentence timestamps, on synthetic and real logs."""

from pathlib import Path

import pynmea2
import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.core.nmea import build_sentence
from host_tools.gpssim.player import Burst, Player
from host_tools.gpssim.replay import ReplayError, load_log, sentence_time, split_epochs
from tests.host_tools.gpssim.gpssimkit import CORPUS


def test_sentence_time_reads_every_timed_sentence() -> None:
    assert sentence_time(b"$GPGGA,235959.50,,,,,0,00,99.99,,,,,,*48\r\n") == 86399.5
    assert sentence_time(b"$GNGLL,4404.14066,N,12118.85481,W,171925.00,A,A*66\n") == 62365.0
    assert sentence_time(b"$GPRMC,,V,,,,,,,,,,N*53") is None  # no time yet
    assert sentence_time(b"$GPGSV,1,1,00*79") is None
    assert sentence_time(b"\xb5\x62garbage") is None


def test_epochs_split_on_new_times_with_midnight_wrap_and_long_gaps() -> None:
    text = "".join(
        build_sentence(body).replace("\r\n", "\n")
        for body in (
            "GPRMC,235959.00,A,,,,,,,,,,A", "GPGSV,1,1,00",
            "GPRMC,000000.00,A,,,,,,,,,,A", "GPGGA,000000.00,,,,,0,00,99.99,,,,,,",
            "GPRMC,000001.50,A,,,,,,,,,,A",
            "GPRMC,000301.50,A,,,,,,,,,,A",  # a three-minute hole in the log
        )
    ).encode()
    epochs = split_epochs(text)
    assert [e.offset for e in epochs] == [0.0, 1.0, 2.5, 12.5]
    assert [len(e.lines) for e in epochs] == [2, 2, 1, 1]
    assert all(line.endswith(b"\r\n") and not line.endswith(b"\r\r\n")
               for e in epochs for line in e.lines)


def test_unreadable_and_empty_logs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="cannot read log"):
        load_log(tmp_path / "missing.nmea")
    (tmp_path / "empty.nmea").write_bytes(b"")
    with pytest.raises(ReplayError, match="empty"):
        load_log(tmp_path / "empty.nmea")


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="nmea-corpus folder not present")


@needs_corpus
def test_corpus_log_replays_with_its_original_one_second_timing() -> None:
    path = CORPUS / "gpsd__mt3339.nmea"
    epochs = load_log(path)
    ggas = [pynmea2.parse(line.decode().strip()) for e in epochs for line in e.lines
            if line[3:6] == b"GGA"]
    assert len(epochs) == len(ggas) == 30
    assert [e.offset for e in epochs] == [float(k) for k in range(30)]
    clock = ManualClock(mono=0.0)
    sent: list[tuple[float, bytes]] = []

    class Sink:
        def announce(self) -> str:
            return ""

        def service(self) -> None:
            return None

        def write(self, data: bytes) -> None:
            sent.append((clock.monotonic(), data))

        def close(self) -> None:
            return None

    def wait(seconds: float) -> bool:
        clock.advance(seconds)
        return False

    player = Player(Sink(), clock, wait, 115200, time_scale=10.0)
    assert player.play(Burst(e.offset, e.lines) for e in epochs)
    starts = [t for t, data in sent if data.startswith(b"$GPGGA")]
    assert starts == pytest.approx([k / 10.0 for k in range(30)], abs=0.02)
    assert b"".join(d for _, d in sent) == path.read_bytes().replace(b"\n", b"\r\n")


@needs_corpus
def test_every_corpus_log_splits_into_ordered_epochs() -> None:
    for path in sorted(CORPUS.glob("*.nmea")):
        epochs = load_log(path)
        offsets = [e.offset for e in epochs]
        assert offsets == sorted(offsets), path.name
        assert sum(len(e.lines) for e in epochs) == len(path.read_bytes().splitlines())
