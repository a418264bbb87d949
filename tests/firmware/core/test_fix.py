"""Fix.of and Fix.with_flags (the tracker's fast construction) give what the dataclass gives."""

import dataclasses
from datetime import UTC, datetime
from typing import get_type_hints

import pytest

from firmware.core.fix import DateSource, Fix, FixFields, FixType


def _fields() -> FixFields:
    return {
        "utc": datetime(2026, 11, 24, 12, 0, 1, 500_000, tzinfo=UTC), "time_key": 43_201_500,
        "latitude": 48.1, "longitude": 11.5, "altitude_m": 545.4, "quality": 1,
        "fix_type": FixType.THREE_D, "valid": True, "hdop": 0.9, "pdop": 1.5, "vdop": 1.2,
        "satellites_used": 9, "used_by_system": {"gps": 9}, "in_view_by_system": {"gps": 11},
        "speed_mps": 0.25, "course_deg": 84.4, "talkers": ("GP",), "sentences": ("RMC", "GGA"),
        "leap_second": False, "received_mono": 12.5, "clock_offset_s": 0.25, "flags": (),
        "date_source": DateSource.GPS,
    }


def test_fix_fields_name_every_field_of_the_fix_with_its_type() -> None:
    names = [f.name for f in dataclasses.fields(Fix)]
    assert list(FixFields.__annotations__) == names
    assert get_type_hints(FixFields) == {n: get_type_hints(Fix)[n] for n in names}


def test_of_is_the_dataclass_built_with_the_same_fields() -> None:
    fix = Fix.of(_fields())
    same = Fix(**_fields())
    assert fix == same and repr(fix) == repr(same) and hash(fix.talkers) == hash(same.talkers)
    assert dataclasses.asdict(fix) == dataclasses.asdict(same)
    assert fix.usable and fix.as_dict() == same.as_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fix.latitude = 0.0  # type: ignore[misc]


def test_of_copies_the_fields_it_is_given() -> None:
    fields = _fields()
    fix = Fix.of(fields)
    fields["latitude"] = 0.0
    assert fix.latitude == 48.1


def test_with_flags_is_dataclasses_replace() -> None:
    fix = Fix.of(_fields())
    flagged = fix.with_flags(("poor_hdop", "duplicate"))
    assert flagged == dataclasses.replace(fix, flags=("poor_hdop", "duplicate"))
    assert flagged is not fix and fix.flags == () and not flagged.usable
