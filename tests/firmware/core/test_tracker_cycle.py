"""End-of-cycle detection: an epoch's fix goes out when the epoch is complete, not one late."""

from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.core.tracker import FixTracker, TrackerPolicy
from firmware.gps.reader import NmeaReader
from tests.firmware.core.test_tracker import feed, fixes, good_epoch, obs
from tests.host_tools.gpssim.gpssimkit import CORPUS, simulate

# Receivers whose epochs start with a timed sentence, so "the next epoch began" is unambiguous.
REGULAR_LOGS = (
    "gpsd__mt3339.nmea",  # GGA GSA [GSV x3] RMC ZDA: GSV only every 5th epoch
    "gpsd__neo-m8n.nmea",  # RMC VTG GGA GSA GSA GSV... GLL
    "gpsd__skytraq-dgps.nmea",
    "gpsd__ublox-zed-f9p-nmea.nmea",
    "gpsd__quectel-l76k-nmea.nmea",
    "gpsd__sirfstarv-nmea.nmea",
    "gpsd__motorola-t805.nmea",  # GGA RMC
    "gpsd__navika-100-fix.nmea",
)
LEARNING = 4  # epochs fed before the cycle is known (confirm 3, then the 4th starts early)


def time_key(line: str) -> int | None:
    """The time of day of a timed sentence line (GGA RMC ZDA GLL GNS), in ms; else None."""
    head, *fields = line.split("*")[0].split(",")
    kind = head[3:]
    index = {"GGA": 0, "RMC": 0, "ZDA": 0, "GNS": 0, "GLL": 4}.get(kind)
    if index is None or index >= len(fields) or len(fields[index]) < 6:
        return None
    t = fields[index]
    return ((int(t[0:2]) * 60 + int(t[2:4])) * 60 + int(t[4:6])) * 1000 + int(
        (t[7:] + "000")[:3] or 0
    )


def late_epochs(lines: list[str], skip: int = LEARNING) -> list[int]:
    """Epochs (by time key) whose fix was still missing when the next epoch's first line came."""
    reader = NmeaReader(require_checksum=True)
    tracker = FixTracker(ManualClock())
    out: set[int | None] = set()
    seen: list[int] = []
    late: list[int] = []
    for line in lines:
        key = time_key(line)
        if key is not None and seen and key != seen[-1]:
            previous = seen[-1]
            if len(seen) > skip and previous not in out:
                late.append(previous)
        if key is not None and (not seen or key != seen[-1]):
            seen.append(key)
        for observation in reader.feed((line + "\r\n").encode()):
            out.update(f.time_key for f in fixes(tracker.observe(observation)))
    return late


def test_fix_is_out_at_the_cycles_last_sentence_once_learned() -> None:
    tracker = FixTracker(ManualClock(), TrackerPolicy(cycle_confirm_epochs=2))
    for second in ("120000", "120001"):
        feed(tracker, good_epoch(second))
    first_of_next = good_epoch("120003")[0]
    out = feed(tracker, good_epoch("120002"))  # closes 120001 (learning), then 120002 at its end
    assert [f.time_key for f in fixes(out)] == [43_201_000, 43_202_000]
    assert tracker.cycle.end == ("GLGSV1/1:1", 1) and tracker.closed_by["end_of_cycle"] == 1
    assert fixes(tracker.observe(first_of_next)) == []  # nothing left over for epoch 120003


def test_a_repeated_sentence_type_ends_the_cycle_only_at_its_last_occurrence() -> None:
    def epoch(hhmmss: str) -> list[str]:
        return [
            f"GNRMC,{hhmmss},A,4807.038,N,01131.000,E,0,0,241126,,,A",
            "GNGSA,A,3,01,02,03,04,,,,,,,,,1.5,0.9,1.2,1",
            "GNGSA,A,3,65,66,67,,,,,,,,,,1.5,0.9,1.2,2",
        ]

    tracker = FixTracker(ManualClock(), TrackerPolicy(cycle_confirm_epochs=2))
    for second in ("120000", "120001", "120002"):
        feed(tracker, [obs(s) for s in epoch(second)])
    rmc, gsa1, gsa2 = (obs(s) for s in epoch("120003"))
    assert fixes(tracker.observe(rmc)) == [] and fixes(tracker.observe(gsa1)) == []
    (fix,) = fixes(tracker.observe(gsa2))
    assert fix.used_by_system == {"gps": 4, "glonass": 3}


def test_a_sentence_after_the_learned_end_is_late_counted_and_unlearns() -> None:
    tracker = FixTracker(ManualClock(), TrackerPolicy(cycle_confirm_epochs=2))
    for second in ("120000", "120001", "120002"):
        feed(tracker, good_epoch(second)[:2])  # RMC GGA
    assert tracker.cycle.learned
    out = feed(tracker, good_epoch("120003")[:2])
    out += feed(tracker, [obs("GPZDA,120003.00,24,11,2026,00,00")])  # the receiver sent more
    assert len(fixes(out)) == 1 and tracker.late_sentences == 1
    assert not tracker.cycle.learned and tracker.cycle.unlearned == 1


def test_silence_closes_the_epoch_while_the_cycle_is_unknown() -> None:
    clock = ManualClock()
    tracker = FixTracker(clock)
    feed(tracker, good_epoch("120000"))
    clock.advance(0.1)
    assert tracker.idle(0.3) == []
    clock.advance(0.3)
    (fix,) = fixes(tracker.idle(0.3))
    assert fix.time_key == 43_200_000 and tracker.closed_by == {"silence": 1}


def test_time_key_of_a_line() -> None:
    assert time_key("$GPGGA,235959.50,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*00") == (
        86_399_500
    )
    assert time_key("$GPGSA,A,1,,,,,,,,,,,,,,,*1E") is None


def test_simulated_receiver_fixes_come_out_before_the_next_epoch() -> None:
    lines = [line.strip() for e in simulate("walk:30") for line in e.lines]
    assert len({time_key(ln) for ln in lines} - {None}) == 30
    assert late_epochs(lines) == []


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no NMEA corpus at {CORPUS}")
@pytest.mark.parametrize("name", REGULAR_LOGS)
def test_corpus_fixes_come_out_before_the_next_epoch(name: str) -> None:
    path: Path = CORPUS / name
    lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    late = late_epochs(lines)
    assert late == [], f"{len(late)} epochs late in {name}"
