"""Geodesy, route files and the walk: distances, bearings, speed and course over ground."""

import argparse
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldcheck_protocol.clock import ManualClock
from host_tools.gpssim.cli import build_bursts, register
from host_tools.gpssim.route import (
    DEFAULT_ROUTE,
    EARTH_RADIUS_M,
    Point,
    Route,
    RouteError,
    bearing_deg,
    destination,
    distance_m,
    load_route_file,
    parse_waypoints,
)
from host_tools.gpssim.sentences import KNOTS_PER_MPS
from tests.host_tools.gpssim.gpssimkit import parsed, simulate


def test_known_distances_and_bearings() -> None:
    one_degree = math.pi / 180 * EARTH_RADIUS_M  # 111.195 km on the mean sphere
    assert distance_m(Point(0, 0), Point(1, 0)) == pytest.approx(one_degree)
    assert distance_m(Point(0, 0), Point(0, 1)) == pytest.approx(one_degree)
    assert bearing_deg(Point(0, 0), Point(0, 1)) == pytest.approx(90.0)
    assert bearing_deg(Point(0, 0), Point(-1, 0)) == pytest.approx(180.0)
    # Zurich Bellevue to Zurichhorn: about 1.5 km, heading south-south-east.
    length = Route(DEFAULT_ROUTE).length_m
    assert 1400 < length < 1600


@settings(max_examples=80, deadline=None)
@given(
    lat=st.floats(-80, 80), lon=st.floats(-179, 179),
    bearing=st.floats(0, 359.9), dist=st.floats(1, 50_000),
)
def test_destination_inverts_distance_and_bearing(
    lat: float, lon: float, bearing: float, dist: float
) -> None:
    start = Point(lat, lon)
    end = destination(start, bearing, dist)
    assert distance_m(start, end) == pytest.approx(dist, rel=1e-6, abs=1e-3)
    diff = (bearing_deg(start, end) - bearing + 180) % 360 - 180
    assert abs(diff) < 1e-5


def test_route_walks_back_and_forth() -> None:
    route = Route([Point(47.0, 8.0, 400.0), Point(47.01, 8.0, 500.0)])
    assert route.at(0) == route.points[0]
    half = route.at(route.length_m / 2)
    assert half.lat == pytest.approx(47.005) and half.alt == pytest.approx(450.0)
    assert route.at(route.length_m).lat == pytest.approx(47.01)
    assert route.at(1.5 * route.length_m).lat == pytest.approx(47.005)  # on the way back
    assert route.at(2 * route.length_m).lat == pytest.approx(47.0)


def test_walk_speed_distance_and_course_come_from_the_motion() -> None:
    epochs = simulate("walk:60", noise_m=0.0, speed_mps=1.4)
    fixes = [parsed(e, "RMC")[0] for e in epochs]
    first, last = fixes[0], fixes[-1]
    # 59 s at 1.4 m/s on the first, straight, leg of the default route (noise switched off).
    travelled = distance_m(Point(first.latitude, first.longitude),
                           Point(last.latitude, last.longitude))
    assert travelled == pytest.approx(59 * 1.4, abs=0.5)
    speeds = [f.spd_over_grnd / KNOTS_PER_MPS for f in fixes[1:]]
    assert sum(speeds) / len(speeds) == pytest.approx(1.4, abs=0.03)
    leg = bearing_deg(DEFAULT_ROUTE[0], DEFAULT_ROUTE[1])
    assert all(abs((f.true_course - leg + 180) % 360 - 180) < 5 for f in fixes[1:])


def test_position_noise_is_gaussian_sized_and_seeded() -> None:
    a = simulate("stand:120", seed=3, noise_m=2.0)
    b = simulate("stand:120", seed=3, noise_m=2.0)
    assert [e.lines for e in a] == [e.lines for e in b]
    centre = DEFAULT_ROUTE[0]
    errors = [distance_m(centre, e.epoch.position) for e in a if e.epoch.position]
    rms = math.sqrt(sum(x * x for x in errors) / len(errors))
    assert 0.3 < rms < 12.0  # sigma 2 m x HDOP ~1, strongly correlated over 120 s
    assert simulate("stand:5", seed=4)[0].lines != a[0].lines


def test_waypoints_parse_and_reject_bad_syntax() -> None:
    assert parse_waypoints("47.1,8.2; 47.2,8.3") == (Point(47.1, 8.2), Point(47.2, 8.3))
    with pytest.raises(RouteError, match="not 'lat,lon'"):
        parse_waypoints("47.1;8.2")
    with pytest.raises(RouteError, match="outside"):
        parse_waypoints("97.1,8.2")
    with pytest.raises(RouteError, match="no waypoints"):
        parse_waypoints(" ; ")


GPX_11 = """<?xml version="1.0"?>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
 <trk><trkseg>
  <trkpt lat="47.1" lon="8.1"><ele>410.5</ele></trkpt>
  <trkpt lat="47.2" lon="8.2"/>
 </trkseg></trk>
</gpx>"""
GPX_10_ROUTE = """<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0">
 <rte><rtept lat="-33.9" lon="151.2"/><rtept lat="-33.8" lon="151.3"/></rte></gpx>"""


def test_route_files(tmp_path: Path) -> None:
    files = {
        "a.gpx": GPX_11,
        "b.gpx": GPX_10_ROUTE,
        "c.json": json.dumps([[47.1, 8.1, 410.5], [47.2, 8.2]]),
        "d.json": json.dumps({"waypoints": [{"lat": 47.1, "lon": 8.1}, {"lat": 47.2, "lon": 8.2}]}),
        "e.csv": "lat,lon,alt\n47.1,8.1,410.5\n# comment\n47.2,8.2\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert load_route_file(tmp_path / "a.gpx") == (Point(47.1, 8.1, 410.5), Point(47.2, 8.2))
    assert load_route_file(tmp_path / "b.gpx")[0] == Point(-33.9, 151.2)
    assert load_route_file(tmp_path / "c.json") == load_route_file(tmp_path / "e.csv")
    assert [p.lat for p in load_route_file(tmp_path / "d.json")] == [47.1, 47.2]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.gpx", "<gpx><trkpt lat='1'", "not valid GPX"),
        ("empty.gpx", "<gpx></gpx>", "no points"),
        ("nolat.gpx", "<gpx><trkpt lon='1'/></gpx>", "no valid lat/lon"),
        ("bad.json", "{", "not valid JSON"),
        ("bad.csv", "47.1,8.1\nfoo,bar\n", "line 2"),
    ],
)
def test_bad_route_files_say_what_is_wrong(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(RouteError, match=message):
        load_route_file(path)


def test_missing_route_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RouteError, match="cannot read route file"):
        load_route_file(tmp_path / "absent.gpx")


@pytest.mark.parametrize(("waypoints", "warned"), [
    ("47.3667,8.5455", True),
    ("47.3667,8.5455;47.3667,8.5455", True),
    ("47.3667,8.5455;47.3540,8.5523", False),
])
def test_a_route_that_goes_nowhere_is_said_to_stand_still(
    waypoints: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    root = argparse.ArgumentParser()
    register(root.add_subparsers())
    args = root.parse_args(["gps-sim", "--waypoints", waypoints, "--epochs", "2", "--seed", "1"])
    with caplog.at_level("WARNING", logger="host_tools.gpssim.cli"):
        bursts = list(build_bursts(args, ManualClock()))
    assert len(bursts) == 2
    assert any("stands still" in r.getMessage() for r in caplog.records) is warned
