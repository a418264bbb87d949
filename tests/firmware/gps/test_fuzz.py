"""The NMEA fuzz harness: mutated inputs through framer, parser and tracker, zero escapes."""

import pytest

from firmware.tools import gps_fuzz


def test_a_few_thousand_mutated_inputs_escape_nothing() -> None:
    result = gps_fuzz.run(5000, seed=3)
    assert result["escapes"] == 0, result["escape_samples"]
    assert result["inputs"] == 5000 and result["usable_fixes"] > 0  # valid lines still get through
    assert result["rejected_by_reason"]  # and the mutated ones are counted, by reason


def test_an_escape_is_counted_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object, data: bytes) -> list[object]:
        raise OverflowError("planted")

    monkeypatch.setattr(gps_fuzz.NmeaReader, "feed", explode)
    result = gps_fuzz.run(10, seed=1)
    assert result["escapes"] == 10 and result["escapes_by_kind"] == {"OverflowError": 10}


@pytest.mark.slow
def test_one_million_mutated_inputs_escape_nothing() -> None:
    result = gps_fuzz.run(1_000_000, seed=1)
    assert result["escapes"] == 0, result["escape_samples"]
