"""The power budget model: energy arithmetic, policies, battery life and the command line."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "hardware" / "power" / "budget.py"
spec = importlib.util.spec_from_file_location("power_budget", SCRIPT)
assert spec and spec.loader
budget = importlib.util.module_from_spec(spec)
sys.modules["power_budget"] = budget  # dataclasses look the module up while building classes
spec.loader.exec_module(budget)


def test_energy_of_a_constant_load() -> None:
    # 100 mA at 5 V for an hour is 500 mWh; through a 50 % converter the cell gives twice that.
    assert budget.mwh(100, 5.0, 3600) == pytest.approx(500.0)
    assert budget.mwh(100, 5.0, 3600, efficiency=0.5) == pytest.approx(1000.0)
    with pytest.raises(ValueError):
        budget.mwh(1, 1, 1, efficiency=0)


def test_always_on_pi_idles_all_day_except_when_busy() -> None:
    fig = budget.Figures(boost_efficiency=1.0)
    policy = budget.Policy("p", checkins_per_day=10, checkin_s=36.0)
    parts = budget.daily_budget(policy, fig).parts
    idle_s = 24 * 3600 - 360
    assert parts["Pi idle"] == pytest.approx(fig.pi_idle_ma * fig.pi_volts * idle_s / 3600)
    busy = (fig.pi_busy_ma + fig.camera_extra_ma) * fig.pi_volts * 360 / 3600
    assert parts["check-ins (CPU + camera)"] == pytest.approx(busy)
    assert parts["Pi boot"] == 0


def test_duty_cycled_pi_is_awake_only_for_its_wakes() -> None:
    fig = budget.Figures()
    policy = budget.Policy(
        "p",
        pi_always_on=False,
        wakes_per_day=10,
        checkins_per_day=2,
        checkin_s=20.0,
        syncs_per_day=4,
        sync_s=10.0,
        wake_work_s=15.0,
    )
    expected = 12 * (fig.pi_boot_s + 15.0) + 2 * 20.0 + 4 * 10.0
    assert budget.pi_awake_s(policy, fig) == pytest.approx(expected)
    always = budget.daily_budget(budget.Policy("on"), fig)
    cycled = budget.daily_budget(policy, fig)
    assert cycled.total_mwh < always.total_mwh / 4
    assert cycled.parts["Pi boot"] > 0


def test_battery_life_scales_with_capacity_and_usable_fraction() -> None:
    day = budget.daily_budget(budget.Policy("on"))
    small = budget.Cell(capacity_mah=1000.0, volts=3.6, usable=0.5)
    large = budget.Cell(capacity_mah=2000.0, volts=3.6, usable=0.5)
    assert budget.usable_mwh(small) == pytest.approx(1800.0)
    assert budget.battery_life_days(day, large) == pytest.approx(
        2 * budget.battery_life_days(day, small)
    )
    assert budget.battery_life_days(day, small) == pytest.approx(1800.0 / day.total_mwh)


def test_gps_duty_reduces_only_the_gps_share() -> None:
    full = budget.daily_budget(budget.Policy("full", gps_duty=1.0))
    quarter = budget.daily_budget(budget.Policy("quarter", gps_duty=0.25))
    assert quarter.parts["GPS"] == pytest.approx(full.parts["GPS"] / 4)
    others = [k for k in full.parts if k != "GPS"]
    assert [quarter.parts[k] for k in others] == [full.parts[k] for k in others]


def test_script_runs_with_plain_python_and_prints_the_readme_table() -> None:
    result = subprocess.run(
        [sys.executable, "-I", str(SCRIPT)], capture_output=True, text=True, check=True
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(budget.POLICIES)
    readme = (SCRIPT.parent / "README.md").read_text()
    assert all(row in readme for row in rows), "power/README.md table is stale: regenerate it"
