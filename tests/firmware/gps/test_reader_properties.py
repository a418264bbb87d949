"""Property tests: arbitrary bytes and mutated sentences never crash the reader; counts add up."""

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.clock import ManualClock
from firmware.core.fix import Fix
from firmware.core.nmea import build_sentence
from firmware.core.tracker import FixTracker
from firmware.gps.reader import NmeaReader

SENTENCES = [
    build_sentence(body).encode()
    for body in (
        "GNRMC,120000.00,A,4807.038,N,01131.000,E,0.5,84.4,241126,,,A,V",
        "GNGGA,120000.00,4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,",
        "GNGSA,A,3,01,02,03,04,05,,,,,,,,1.5,0.9,1.2,1",
        "GPGSV,3,1,12,05,06,110,19,10,24,284,34,13,37,124,29,15,63,083,11,1",
        "GNVTG,84.4,T,,M,0.5,N,0.9,K,A",
        "GNZDA,235960.00,31,12,2016,00,00",
        "GPGLL,4807.038,N,01131.000,E,120000.00,A,A",
        "GNGNS,120000.00,4807.038,N,01131.000,E,AAN,09,0.9,545.4,46.9,,,V",
    )
]


def run_reader(chunks: list[bytes]) -> tuple[NmeaReader, list[Fix]]:
    reader = NmeaReader()
    tracker = FixTracker(ManualClock())
    fixes: list[Fix] = []
    for chunk in chunks:
        for obs in reader.feed(chunk):
            fixes += [o for o in tracker.observe(obs) if isinstance(o, Fix)]
    fixes += [o for o in tracker.flush() if isinstance(o, Fix)]
    for fix in fixes:
        assert fix.latitude is None or -90 <= fix.latitude <= 90
        assert fix.longitude is None or -180 <= fix.longitude <= 180
        assert fix.valid is False or fix.has_position
    return reader, fixes


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_arbitrary_bytes_never_raise_and_bytes_are_counted(chunks: list[bytes]) -> None:
    reader, _ = run_reader(chunks)
    counts = reader.counts()
    assert counts.bytes_in == sum(len(c) for c in chunks)
    assert counts.lines == reader.parser.lines
    assert counts.garbage_bytes <= counts.bytes_in


@st.composite
def mutated_stream(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    picks = draw(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=12))
    data = bytearray(b"".join(picks))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = draw(st.integers(0, 255))
        if kind == "flip":
            data[at] = byte
        elif kind == "insert":
            data.insert(at, byte)
        elif len(data) > 1:
            del data[at]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=5)))
    return bytes(data), cuts


@settings(max_examples=150, deadline=None)
@given(mutated_stream())
def test_mutated_sentences_never_raise_and_every_line_is_judged_once(
    stream: tuple[bytes, list[int]],
) -> None:
    data, cuts = stream
    bounds = [0, *cuts, len(data)]
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    reader, _ = run_reader(chunks)
    parser = reader.parser
    framed = reader.framer
    assert (
        parser.lines == parser.accepted.total() + parser.ignored.total() + parser.rejected.total()
    )
    # Every start of a sentence ends as a line judged by the parser or a framing rejection,
    # except a final partial line still waiting for its end.
    starts = data.count(b"$") + data.count(b"!")
    judged = parser.lines + sum(framed.rejected[r] for r in ("truncated", "overlong", "non_ascii"))
    assert judged <= starts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_any_chunking_of_clean_sentences_gives_the_same_observations(sizes: list[int]) -> None:
    data = b"".join(SENTENCES) * 2
    chunks, at = [], 0
    for size in sizes * (len(data) // sum(sizes) + 1):
        chunks.append(data[at : at + size])
        at += size
    whole = NmeaReader().feed(data)
    reader = NmeaReader()
    pieces = [obs for c in chunks for obs in reader.feed(c)]
    assert pieces == whole and len(whole) == 2 * len(SENTENCES)
    assert reader.counts().rejected == {}
