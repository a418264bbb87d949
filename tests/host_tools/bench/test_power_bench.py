"""The power bench's arithmetic: measured wakes -> awake seconds a day -> days on one charge."""

from host_tools.bench.power import CHECKINS_PER_DAY, Wake, budget_module, figures


def wakes(work_s: float, sleep_s: int) -> list[Wake]:
    return [Wake(work_s, work_s - 3, sleep_s, 4.0), Wake(work_s, work_s - 3, sleep_s, 6.0)]


def test_figures_follow_the_budget_model_of_hardware_power() -> None:
    found = figures(wakes(20.0, 1800))
    budget = budget_module()
    fig = budget.Figures(mcu_ma=1.5)
    assert found["wakes_per_day"] == 86400 / (1800 + 20 + fig.pi_boot_s)
    per_day = round(found["wakes_per_day"])
    expected_awake = ((per_day + CHECKINS_PER_DAY) * (fig.pi_boot_s + 20.0)
                      + CHECKINS_PER_DAY * 20.0 + per_day * 2.0)
    assert found["awake_s_per_day"] == expected_awake
    assert found["ttff_s"] == 5.0


def test_longer_sleeps_and_shorter_wakes_last_longer() -> None:
    base = figures(wakes(20.0, 1800))["days_on_charge"]
    assert figures(wakes(20.0, 3600))["days_on_charge"] > base
    assert figures(wakes(60.0, 1800))["days_on_charge"] < base
