"""The demo's second part: the same unit, duty-cycled, through a simulated day of wakes.

Each wake is the real ``fieldcheck-device run`` process (real store, real HTTPS sync to the
demo's server) under ``[policy] power = "duty_cycled"``, with the simulated supervisor and the
simulated receiver (``[gps] type = "sim"``, kept in backup power between wakes, so the first
wake starts cold and the others hot). A wake ends by itself when the daemon asks for its timed
sleep. The bench plays the MCU's part of the sleep: the Pi is off then and nothing runs, so the
bench starts the next wake at once and counts the sleep in simulated time. That is the only
acceleration: the unit's own clock is the real one (nothing fakes it), which is why the day's
wakes come from ``wake_interval_s`` and the check-in schedule is off in this part.

What is measured: each daemon's wall time (process start to exit) and, from the signed ``power``
events that reached the server, its awake time, time to first fix and the sleep it asked for.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from host_tools.bench.wake_figures import Wake, figures
from host_tools.bench.wake_session import WakeFailed, power_events, run_wake

#: Wakes in the simulated day: one every ``WAKE_INTERVAL_S``.
WAKES = 4
WAKE_INTERVAL_S = 21600
SESSION_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Link:
    """The demo's server, as the unit's config needs it."""

    port: int
    server_dir: Path
    fingerprint: str


def run_day(workdir: Path, data_dir: Path, device_id: str, link: Link) -> bool:
    """Run the day's wakes, print each and the measured awake time; True when all reported."""
    print(f"\na duty-cycled day: the same unit, [policy] power = \"duty_cycled\", {WAKES} wakes "
          f"(one every {WAKE_INTERVAL_S // 3600} h); the bench plays the supervisor MCU and "
          "skips each sleep (the Pi is off then)")
    config = _config(workdir, data_dir, link)
    try:
        walls = [run_wake(config, SESSION_TIMEOUT_S) for _ in range(WAKES)]
    except WakeFailed as err:
        print(f"  FAILED: {err}")
        return False
    events = power_events(link.server_dir, device_id, sleeps_only=True)[-WAKES:]
    if len(events) < WAKES:
        print(f"  INCOMPLETE: {WAKES} wakes ran but {len(events)} power events arrived")
        return False
    wakes = [Wake(wall, float(e["awake_s"]), int(e["wake_after_s"]),
                        float(e["ttff_s"]) if "ttff_s" in e else None)
             for wall, e in zip(walls, events, strict=True)]
    _print_wakes(wakes, events, figures(wakes))
    return True


def _config(workdir: Path, data_dir: Path, link: Link) -> Path:
    config = workdir / "device-duty.toml"
    config.write_text(
        f'[device]\ndata_dir = "{data_dir}"\n\n'
        f'[policy]\npower = "duty_cycled"\nhalt_command = []\nmin_awake_s = 2.0\n'
        f"max_awake_s = 30.0\nwake_interval_s = {WAKE_INTERVAL_S}\n\n"
        '[gps]\ntype = "sim"\nrate_hz = 5.0\ncold_ttff_s = 4.0\nhot_ttff_s = 0.5\n'
        f'backup_file = "{workdir / "gps-backup.json"}"\n\n'
        f'[sync]\ntype = "https"\nurl = "https://127.0.0.1:{link.port}"\n'
        f'server_cert = "{link.server_dir / "server.crt"}"\nfingerprint = "{link.fingerprint}"\n\n'
        '[supervisor]\ntype = "sim"\n\n'
        f'[camera]\ntype = "replay"\nfolder = "{workdir}"\n\n'
        '[checkin]\nmode = "off"\n'
    )
    return config


def _print_wakes(wakes: list[Wake], events: list[dict[str, Any]],
                 found: dict[str, float]) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)  # the simulated day's clock, from midnight
    backup = False  # the receiver's state when the wake began: the last wake's standby
    for n, (wake, event) in enumerate(zip(wakes, events, strict=True), 1):
        ttff = "no fix" if wake.ttff_s is None else f"first fix after {wake.ttff_s:.1f} s"
        start = "hot start from backup power" if backup else "cold start"
        print(f"  {at:%H:%M:%S}  wake {n}: awake {wake.awake_s:.1f} s (daemon process "
              f"{wake.wall_s:.1f} s), {ttff} ({start}); asks to sleep {wake.wake_after_s} s "
              f"({event.get('wake_for')}), receiver to backup power: {event.get('gps_standby')}")
        at += timedelta(seconds=wake.wall_s + wake.wake_after_s)
        backup = event.get("gps_standby") is True
    total = sum(w.wall_s for w in wakes)
    print(f"  measured awake time: {total:.1f} s of daemon time over {len(wakes)} wakes in the "
          f"simulated day (always on: 86400 s); at this day's {len(wakes)} wakes, with the "
          f"estimated boot time, {found['awake_s_per_day']:.0f} s awake a day and "
          f"{found['days_on_charge']:.1f} days on the reference 18650 (currents: estimates)")
