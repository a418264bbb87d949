"""The kept results of the field parsers change nothing: same values, errors raised every time."""

import pytest

from firmware.core import nmea_fields as fields


def test_a_refused_field_is_refused_every_time() -> None:
    for _ in range(3):
        with pytest.raises(ValueError):
            fields.utc_time("256000")
        with pytest.raises(fields.FieldError):
            fields.ddmmyy("320126")
        with pytest.raises(fields.FieldError):
            fields.position(["9100.000", "N", "01131.000", "E"], 0)
        with pytest.raises(fields.FieldError):
            fields.gsa("GP", ["A", "3", "1000", *[""] * 11, "1.5", "0.9", "1.2"])


def test_kept_values_equal_freshly_parsed_ones() -> None:
    first = fields.gga("GP", "123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,".split(","))
    fields.utc_time.cache_clear()
    again = fields.gga("GP", "123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,".split(","))
    assert first == again
    assert first.time == fields.UtcTime(12, 35, 19, 0)
    assert first.position is not None and first.position.latitude == pytest.approx(48.1173)


@pytest.mark.parametrize(
    ("text", "value"),
    [("09", 9), ("+9", 9), (" 9 ", 9), ("", None), ("  ", None), ("0000000000009", "error")],
)
def test_opt_int_fast_and_general_paths_agree(text: str, value: int | None | str) -> None:
    if value == "error":
        with pytest.raises(fields.FieldError):
            fields.opt_int(text, fields.SATELLITES)
    else:
        assert fields.opt_int(text, fields.SATELLITES) == value


def test_opt_int_refuses_non_ascii_digits() -> None:
    with pytest.raises(ValueError):
        fields.opt_int("\u00b2")
