"""Measured wakes of a duty-cycled unit, and what they mean for a day and for the battery.

Shared by the ``power`` bench section and the demo's duty-cycled day: both run real wake
sessions and turn them into awake seconds a day and days on the reference 18650 with the figures
in ``hardware/power/budget.py`` (boot time and currents there are estimates).
"""

import importlib.util
import statistics
from dataclasses import dataclass
from types import ModuleType

from host_tools.bench.processes import REPO

#: The reference cell and currents (hardware/power/budget.py; every current an estimate).
BUDGET_PY = REPO / "hardware" / "power" / "budget.py"
#: RP2040 current with the main loop in lightsleep between polls (estimate; ~1 mA measured on a
#: Pico at 5 V by the MicroPython rp2 lightsleep work, plus margin for the pull-ups).
MCU_LIGHTSLEEP_MA = 1.5
#: Radio transmit time per upload on top of the wake (estimate; the wake itself is measured).
SYNC_RADIO_S = 2.0
#: Check-ins a day under the default schedule (windows mode, ``per_day`` = 3).
CHECKINS_PER_DAY = 3


@dataclass(frozen=True)
class Wake:
    """One measured wake session."""

    wall_s: float
    awake_s: float
    wake_after_s: int
    ttff_s: float | None


def budget_module() -> ModuleType:
    """hardware/power/budget.py, loaded from its file (it is plain Python, not a package)."""
    spec = importlib.util.spec_from_file_location("fieldcheck_power_budget", BUDGET_PY)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {BUDGET_PY}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def figures(wakes: list[Wake]) -> dict[str, float]:
    """Awake seconds per day and days on one charge from the measured wakes."""
    budget = budget_module()
    fig = budget.Figures(mcu_ma=MCU_LIGHTSLEEP_MA)
    work_s = statistics.mean(w.wall_s for w in wakes)
    sleep_s = statistics.mean(w.wake_after_s for w in wakes)
    wakes_per_day = 86400.0 / (sleep_s + work_s + fig.pi_boot_s)
    policy = budget.Policy(
        "duty_cycled (measured wakes)", pi_always_on=False, checkins_per_day=CHECKINS_PER_DAY,
        syncs_per_day=round(wakes_per_day), sync_s=SYNC_RADIO_S,
        wakes_per_day=round(wakes_per_day), wake_work_s=work_s)
    days = budget.battery_life_days(budget.daily_budget(policy, fig), budget.Cell())
    ttffs = [w.ttff_s for w in wakes if w.ttff_s is not None]
    return {
        "wake_work_s": work_s, "sleep_s": sleep_s, "wakes_per_day": wakes_per_day,
        "awake_s_per_day": float(budget.pi_awake_s(policy, fig)), "days_on_charge": days,
        "ttff_s": statistics.median(ttffs) if ttffs else -1.0,
    }
