"""Scenarios produce the fix-state sequences they promise, read back through pynmea2."""

import itertools

import pytest

from host_tools.gpssim.receiver import SimEpoch
from host_tools.gpssim.route import Point, distance_m
from host_tools.gpssim.scenario import ScenarioError, parse_scenario
from tests.host_tools.gpssim.gpssimkit import parsed, simulate


def fix_state(epoch: SimEpoch) -> str:
    """'none', '2D' or '3D' from the GGA quality and the GSA mode."""
    gga = parsed(epoch, "GGA")[0]
    gsa = parsed(epoch, "GSA")[0]
    if gga.gps_qual == 0:
        assert gsa.mode_fix_type == "1" and not gga.lat
        return "none"
    return {"2": "2D", "3": "3D"}[gsa.mode_fix_type]


def sequence(epochs: list[SimEpoch]) -> list[str]:
    """Fix states with repeats collapsed."""
    return [state for state, _ in itertools.groupby(fix_state(e) for e in epochs)]


@pytest.mark.parametrize("talker", ["GP", "GN"])
def test_cold_start_goes_no_fix_then_2d_then_3d(talker: str) -> None:
    epochs = simulate("cold-start", talker=talker)
    assert sequence(epochs) == ["none", "2D", "3D"]
    first = epochs[0]
    assert parsed(first, "RMC")[0].status == "V" and parsed(first, "RMC")[0].timestamp is None
    assert parsed(first, "GSV")[0].num_sv_in_view == "00"  # nothing acquired yet
    # The time is decoded before the first fix: timestamps appear while still without fix.
    timed_no_fix = [e for e in epochs if fix_state(e) == "none" and e.epoch.time is not None]
    assert timed_no_fix and parsed(timed_no_fix[0], "ZDA")[0].year == 2026


def test_tunnel_loses_the_fix_and_recovery_brings_it_back() -> None:
    epochs = simulate("walk:5,tunnel:8,recovery:8,walk:3")
    assert sequence(epochs) == ["3D", "none", "2D", "3D"]
    tunnel = [e for e in epochs if e.slot.segment.name == "tunnel"]
    assert len(tunnel) == 8
    for e in tunnel:
        rmc = parsed(e, "RMC")[0]
        assert rmc.status == "V" and rmc.timestamp is not None  # the clock keeps running
        assert all(s.snr is None for s in e.epoch.sky.sats)  # in view, none tracked


def test_demo_is_walk_tunnel_recovery_in_thirty_seconds() -> None:
    epochs = simulate("demo")
    assert len(epochs) == 30
    assert sequence(epochs) == ["3D", "none", "2D", "3D"]
    assert [s.segment.name for s in parse_scenario("demo").slots] == ["walk", "tunnel", "recovery"]


def test_indoor_degrades_hdop_and_satellites() -> None:
    epochs = simulate("stand:10,indoor:10", seed=11)
    outdoor = [parsed(e, "GGA")[0] for e in epochs[:10]]
    indoor = [parsed(e, "GGA")[0] for e in epochs[10:]]
    assert min(float(g.horizontal_dil) for g in indoor) > 2 * max(
        float(g.horizontal_dil) for g in outdoor)
    assert max(int(g.num_sats) for g in indoor) < min(int(g.num_sats) for g in outdoor)


def test_spoof_jumps_kilometres_and_back() -> None:
    epochs = simulate("walk:5,spoof:5,walk:5", noise_m=0.5)
    points = [Point(g.latitude, g.longitude) for g in (parsed(e, "GGA")[0] for e in epochs)]
    steps = [distance_m(a, b) for a, b in itertools.pairwise(points)]
    jumps = [i for i, d in enumerate(steps) if d > 1000]
    assert jumps == [4, 9]  # into the spoofed position and back
    assert all(d < 20 for i, d in enumerate(steps) if i not in jumps)
    assert all(4000 < steps[i] < 4400 for i in jumps)


def test_last_segment_stretches_for_a_longer_run() -> None:
    timeline = parse_scenario("cold-start,walk:10").stretched(100)
    assert timeline.seconds == 100
    assert timeline.slots[-1].segment.name == "walk" and timeline.slots[-1].seconds == 76
    assert len(simulate("stand:2", rate_hz=10.0)) == 20


@pytest.mark.parametrize(
    ("spec", "message"),
    [("walk,swim", "unknown scenario segment 'swim'"), ("walk:abc", "duration"),
     ("walk:-3", "positive"), ("", "empty scenario")],
)
def test_bad_scenarios_are_rejected(spec: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(spec)
