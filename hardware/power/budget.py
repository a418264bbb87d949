"""Daily energy and battery life of a unit for a given policy: ``python3 hardware/power/budget.py``.

Plain Python (standard library only), so it runs anywhere. Every current below is an ESTIMATE
for planning, from vendor datasheets and published bench measurements of similar boards; measure
a real unit with a USB power meter before relying on a number. See power/README.md.
"""

import sys
from dataclasses import dataclass, field, replace

HOURS = 24.0


@dataclass(frozen=True)
class Figures:
    """Currents (mA) at their supply voltage (V); estimates, see README.md for sources."""

    pi_volts: float = 5.0
    pi_idle_ma: float = 110.0  # Zero 2 W idle, HDMI off, Wi-Fi associated: ~100-120 mA measured
    pi_busy_ma: float = 450.0  # four A53 cores busy (face inference): ~400-580 mA measured
    pi_boot_ma: float = 250.0  # average over a Raspberry Pi OS Lite boot
    pi_boot_s: float = 35.0  # power-on to the daemon's READY=1
    camera_extra_ma: float = 180.0  # Camera Module 3 streaming, on the 5 V side
    wifi_extra_ma: float = 120.0  # radio transmitting during a sync
    gps_volts: float = 3.3
    gps_tracking_ma: float = 10.0  # u-blox M10 continuous tracking (~25-35 mW)
    gps_acquire_ma: float = 20.0  # acquisition after power-up
    gps_hot_start_s: float = 5.0  # time to a fix after each wake (backup supply keeps ephemeris)
    mcu_volts: float = 3.3
    mcu_ma: float = 20.0  # RP2040 at 125 MHz in a polling loop; ~1-2 mA with lightsleep
    gauge_ma: float = 0.02  # MAX17048 active, 23 uA typical
    boost_efficiency: float = 0.90  # cell -> 5 V for the Pi and camera
    ldo_efficiency: float = 0.89  # 3.3 V from a 3.7 V cell (linear regulator)


@dataclass(frozen=True)
class Policy:
    """What the unit does in a day."""

    name: str
    pi_always_on: bool = True
    checkins_per_day: int = 6
    checkin_s: float = 20.0  # camera + inference per check-in, all retries included
    syncs_per_day: int = 24
    sync_s: float = 10.0
    gps_duty: float = 1.0  # fraction of the day the GPS tracks, when the Pi is always on
    wakes_per_day: int = 48  # duty-cycled Pi: wakes for a location fix (check-ins wake it too)
    wake_work_s: float = 20.0  # per wake: fix, sign, store


@dataclass(frozen=True)
class Cell:
    """The battery."""

    name: str = "18650, 3500 mAh"
    capacity_mah: float = 3500.0
    volts: float = 3.6  # nominal
    usable: float = 0.85  # kept back for ageing, cold and the gauge's cut-off margin


@dataclass(frozen=True)
class Budget:
    """Energy per component for one day, in mWh drawn from the cell."""

    policy: Policy
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def total_mwh(self) -> float:
        """Whole-day energy from the cell, mWh."""
        return sum(self.parts.values())


def mwh(milliamps: float, volts: float, seconds: float, efficiency: float = 1.0) -> float:
    """Energy drawn from the cell by ``milliamps`` at ``volts`` for ``seconds``, in mWh."""
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency {efficiency} must be in (0, 1]")
    return milliamps * volts * seconds / 3600.0 / efficiency


def pi_awake_s(policy: Policy, fig: Figures) -> float:
    """Seconds per day the Pi is powered."""
    if policy.pi_always_on:
        return HOURS * 3600
    wakes = policy.wakes_per_day + policy.checkins_per_day
    awake = wakes * (fig.pi_boot_s + policy.wake_work_s)
    awake += policy.checkins_per_day * policy.checkin_s + policy.syncs_per_day * policy.sync_s
    return min(awake, HOURS * 3600)


def daily_budget(policy: Policy, fig: Figures | None = None) -> Budget:
    """Per-component daily energy for ``policy``."""
    fig = fig or Figures()
    awake = pi_awake_s(policy, fig)
    boots = 0 if policy.pi_always_on else policy.wakes_per_day + policy.checkins_per_day
    busy = policy.checkins_per_day * policy.checkin_s
    boot = boots * fig.pi_boot_s
    idle = max(awake - busy - boot, 0.0)
    five, boost = fig.pi_volts, fig.boost_efficiency
    if policy.pi_always_on:
        gps = mwh(fig.gps_tracking_ma, fig.gps_volts, HOURS * 3600 * policy.gps_duty, boost)
    else:
        # The GPS is powered with the Pi: acquire after each boot, then track while awake.
        acquire = boots * fig.gps_hot_start_s
        gps = mwh(fig.gps_acquire_ma, fig.gps_volts, acquire, boost)
        gps += mwh(fig.gps_tracking_ma, fig.gps_volts, max(awake - acquire, 0.0), boost)
    parts = {
        "Pi idle": mwh(fig.pi_idle_ma, five, idle, boost),
        "Pi boot": mwh(fig.pi_boot_ma, five, boot, boost),
        "check-ins (CPU + camera)": mwh(fig.pi_busy_ma + fig.camera_extra_ma, five, busy, boost),
        "sync radio": mwh(fig.wifi_extra_ma, five, policy.syncs_per_day * policy.sync_s, boost),
        "GPS": gps,
        "supervisor MCU + gauge": mwh(
            fig.mcu_ma + fig.gauge_ma, fig.mcu_volts, HOURS * 3600, fig.ldo_efficiency
        ),
    }
    return Budget(policy, parts)


def usable_mwh(cell: Cell) -> float:
    """Energy the cell can deliver before the unit must stop, mWh."""
    return cell.capacity_mah * cell.volts * cell.usable


def battery_life_days(budget: Budget, cell: Cell) -> float:
    """Days on one charge at this daily budget."""
    return usable_mwh(cell) / budget.total_mwh


POLICIES: tuple[Policy, ...] = (
    Policy("always on, GPS tracking all day"),
    Policy("always on, GPS 25 % duty", gps_duty=0.25),
    Policy("Pi sleeps, wakes every 30 min", pi_always_on=False),
    Policy(
        "Pi sleeps, wakes hourly, 12 syncs", pi_always_on=False, wakes_per_day=24, syncs_per_day=12
    ),
)


def table(budgets: list[Budget], cell: Cell) -> str:
    """A markdown table: per-component mWh/day, total and days on ``cell``."""
    names = list(budgets[0].parts)
    head = "| policy | " + " | ".join(names) + " | total Wh/day | days on " + cell.name + " |"
    rule = "|---" * (len(names) + 3) + "|"
    rows = [head, rule]
    for b in budgets:
        cells = [f"{b.parts[n]:.0f}" for n in names]
        total = f"{b.total_mwh / 1000:.2f}"
        rows.append(
            f"| {b.policy.name} | " + " | ".join(cells) + f" | {total} | "
            f"{battery_life_days(b, cell):.1f} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    """Print the table for the built-in policies; ``--mah N`` and ``--mcu-ma N`` vary the build."""
    cell, fig = Cell(), Figures()
    args = iter(argv)
    for arg in args:
        if arg == "--mah":
            mah = float(next(args))
            cell = replace(cell, name=f"{mah:.0f} mAh", capacity_mah=mah)
        elif arg == "--mcu-ma":
            fig = replace(fig, mcu_ma=float(next(args)))
        else:
            print(f"usage: budget.py [--mah N] [--mcu-ma N]; unknown {arg!r}", file=sys.stderr)
            return 2
    print("Energy drawn from the cell per day, mWh (estimates; see README.md)\n")
    print(table([daily_budget(p, fig) for p in POLICIES], cell))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
