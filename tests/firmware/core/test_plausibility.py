"""Plausibility filters: each reason on its own, and that flagged fixes do not move the anchor."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from firmware.core.fix import Fix, FixType
from firmware.core.plausibility import Plausibility, PlausibilityPolicy, distance_m

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = PlausibilityPolicy(max_hdop=5.0, max_speed_mps=50.0, build_date=date(2026, 11, 1))


def make_fix(seconds: int = 0, lat: float = 48.0, lon: float = 11.0, **kw: object) -> Fix:
    utc = NOW + timedelta(seconds=seconds)
    base = Fix(
        utc=utc,
        time_key=seconds * 1000,
        latitude=lat,
        longitude=lon,
        altitude_m=500.0,
        quality=1,
        fix_type=FixType.THREE_D,
        valid=True,
        hdop=0.9,
        pdop=1.5,
        vdop=1.2,
        satellites_used=9,
        received_mono=float(seconds),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_good_fix_has_no_reason() -> None:
    assert Plausibility(POLICY).check(make_fix(), NOW) == ()


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"valid": False}, "invalid"),
        ({"lat": 0.0, "lon": 0.0}, "zero_position"),
        ({"hdop": 9.9}, "poor_hdop"),
        ({"utc": NOW + timedelta(days=2)}, "future_date"),
        ({"utc": datetime(2007, 3, 20, tzinfo=UTC)}, "before_build"),  # a week-rollover date
    ],
)
def test_each_filter_flags_its_reason(changes: dict[str, object], reason: str) -> None:
    lat, lon = changes.pop("lat", 48.0), changes.pop("lon", 11.0)
    fix = make_fix(lat=lat, lon=lon, **changes)  # type: ignore[arg-type]
    assert reason in Plausibility(POLICY).check(fix, NOW)


def test_duplicate_time_is_flagged() -> None:
    filters = Plausibility(POLICY)
    assert filters.check(make_fix(0), NOW) == ()
    assert filters.check(make_fix(0), NOW) == ("duplicate",)


def test_speed_jump_against_last_plausible_fix() -> None:
    filters = Plausibility(POLICY)
    assert filters.check(make_fix(0), NOW) == ()
    # 0.1 degree of latitude is about 11 km in one second.
    assert filters.check(make_fix(1, lat=48.1), NOW) == ("speed_jump",)
    # Still judged against the first fix, not the spoofed one: a normal step is fine.
    assert filters.check(make_fix(2, lat=48.0005), NOW) == ()


def test_future_check_is_skipped_while_the_system_clock_is_unset() -> None:
    unset_clock = datetime(1970, 1, 1, tzinfo=UTC)  # a Pi without RTC before NTP
    assert Plausibility(POLICY).check(make_fix(), unset_clock) == ()


def test_distance_is_haversine() -> None:
    assert distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195, rel=1e-3)
