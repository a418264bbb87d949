"""UtcTime.of and Position.of (the field parser's fast construction) are the dataclasses' values."""

import dataclasses

import pytest

from firmware.core import nmea_fields
from firmware.core.observation import Position, UtcTime


def test_utc_time_of_is_the_dataclass() -> None:
    made, plain = UtcTime.of(23, 59, 60, 250_000), UtcTime(23, 59, 60, 250_000)
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert made.key == plain.key and made.leap_second and not made < plain
    assert UtcTime.of(1, 2, 3, 0) < plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.hour = 0  # type: ignore[misc]


def test_position_of_is_the_dataclass() -> None:
    made, plain = Position.of(48.1, -11.5), Position(48.1, -11.5)
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.latitude = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("text", ["000000", "235960", "123519.5", "094501.123456", "235959.99"])
def test_times_are_read_as_their_fields(text: str) -> None:
    when = nmea_fields.utc_time.__wrapped__(text)
    micro = int((text[7:] + "000000")[:6]) if len(text) > 6 else 0
    assert when == UtcTime(int(text[0:2]), int(text[2:4]), int(text[4:6]), micro)
