"""CPU time per sentence through the whole reader path vs the naive readline baseline, on a pty."""

import os
import threading
import time
import tty
from collections.abc import Callable
from typing import Any

from fieldcheck_protocol.clock import SystemClock
from firmware.core.nmea import build_sentence
from firmware.core.tracker import FixTracker
from firmware.gps.backends import serial as serial_backend
from firmware.gps.reader import NmeaReader
from firmware.tools import readline_baseline

# One u-blox style epoch: RMC, VTG, GGA, GSA, 3 x GSV, ZDA (8 sentences, about 560 bytes).
_EPOCH = (
    "GPRMC,{t},A,4807.{f:03d},N,01131.000,E,0.5,84.4,241126,,,A",
    "GPVTG,84.4,T,,M,0.5,N,0.9,K,A",
    "GPGGA,{t},4807.{f:03d},N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,",
    "GPGSA,A,3,01,02,03,04,05,06,07,08,09,,,,1.5,0.9,1.2",
    "GPGSV,3,1,11,01,40,083,46,02,17,308,41,03,07,344,39,04,22,228,45",
    "GPGSV,3,2,11,05,40,083,46,06,17,308,41,07,07,344,39,08,22,228,45",
    "GPGSV,3,3,11,09,40,083,46,10,17,308,41,11,07,344,39",
    "GPZDA,{t},24,11,2026,00,00",
)


def synthetic_stream(sentences: int) -> bytes:
    """``sentences`` valid sentences in whole epochs, one second apart."""
    out = []
    for n in range(sentences):
        second = n // len(_EPOCH)
        t = f"{(second // 3600) % 24:02d}{(second // 60) % 60:02d}{second % 60:02d}.00"
        out.append(build_sentence(_EPOCH[n % len(_EPOCH)].format(t=t, f=second % 1000)))
    return "".join(out).encode()


def _feed(master: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(master, view[:4096])
        view = view[written:]


Consumer = Callable[[str, Callable[[], None]], int]
_DEFAULTS = serial_backend.Config()


def _over_pty(data: bytes, consume: Consumer) -> tuple[int, float]:
    """Write ``data`` into a pty from a thread; ``consume(port, go)`` reads it. -> (n, CPU s).

    The consumer calls ``go()`` once its port is open: pyserial flushes the input on open, so
    bytes written earlier would be lost. The reading thread's CPU (not the writer's) counts from
    then on, for both paths alike: opening the port (and the first import of pyserial, some
    10 us per sentence of a short run) is set-up, not the cost of reading.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    writer = threading.Thread(target=_feed, args=(master, data), daemon=True)
    started: list[float] = []

    def go() -> None:
        started.append(time.thread_time())
        writer.start()

    try:
        count = consume(port, go)
        cpu = time.thread_time() - started[0] if started else 0.0
    finally:
        if writer.is_alive():
            writer.join(timeout=10)
        os.close(master)
        os.close(slave)
    return count, cpu


def _chunked(sentences: int, baudrate: int) -> Consumer:
    def consume(port: str, go: Callable[[], None]) -> int:
        # The source as the daemon configures it ([gps] type = "serial" with its defaults:
        # max_chunk, gather_s), so the reads are the daemon's reads.
        settings = serial_backend.Config(port=port, baudrate=baudrate)
        reader = NmeaReader(settings.require_checksum, settings.max_line_length)
        tracker = FixTracker(
            SystemClock(), settings.tracker_policy(), settings.plausibility_policy()
        )
        source = serial_backend.create(settings)
        source.start()
        go()
        try:
            while reader.parser.accepted.total() < sentences:
                data = source.read(2.0)
                if not data:
                    break
                for obs in reader.feed(data):
                    tracker.observe(obs)
        finally:
            source.stop()
        return reader.parser.accepted.total()

    return consume


def run(sentences: int, baudrate: int = 115200, repeats: int = 3) -> dict[str, Any]:
    """Both paths over the same bytes on a real pty; CPU microseconds per sentence and ratio.

    The paths take turns ``repeats`` times and each keeps its best run: on a shared machine
    the least disturbed run of each is the fairest comparison of the two.
    """
    data = synthetic_stream(sentences)
    ours_runs, naive_runs = [], []
    for _ in range(max(1, repeats)):
        ours, ours_cpu = _over_pty(data, _chunked(sentences, baudrate))
        naive, naive_cpu = _over_pty(
            data, lambda port, go: readline_baseline.read_sentences(port, baudrate, sentences, go)
        )
        ours_runs.append(ours_cpu / max(ours, 1) * 1e6)
        naive_runs.append(naive_cpu / max(naive, 1) * 1e6)
    ours_us, naive_us = min(ours_runs), min(naive_runs)
    return {
        "benchmark": "gps_reader_cpu_per_sentence",
        "sentences": sentences,
        "bytes": len(data),
        "transport": "pty",
        "chunked_sentences": ours,
        "chunked_us_per_sentence": round(ours_us, 2),
        "chunked_path": "serial read(in_waiting) -> framer -> pynmea2 -> fields -> tracker",
        "chunked_source": f"serial backend defaults: max_chunk {_DEFAULTS.max_chunk} B, "
                          f"gather_s {_DEFAULTS.gather_s}",
        "readline_sentences": naive,
        "readline_us_per_sentence": round(naive_us, 2),
        "readline_path": "pyserial readline() -> pynmea2.parse",
        "ratio_readline_over_chunked": round(naive_us / ours_us, 2) if ours_us else None,
        "runs": {"chunked_us": [round(v, 2) for v in ours_runs],
                 "readline_us": [round(v, 2) for v in naive_runs]},
        "method": f"best of {len(ours_runs)} alternating runs each, reading thread's CPU time "
                  "from port open to the last sentence",
    }
