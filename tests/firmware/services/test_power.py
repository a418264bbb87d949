"""Wake-session policy: when a duty-cycled wake is over and how long the unit sleeps."""

from datetime import UTC, datetime, timedelta

import pytest

from firmware.services.power import MAX_WAKE_AFTER_S, SessionRules, WakeSession

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
RULES = SessionRules(wake_interval_s=1800, min_awake_s=10, max_awake_s=180, boot_lead_s=60)


def session() -> WakeSession:
    return WakeSession(RULES, started_mono=100.0)


def test_a_wake_settles_first_then_sleeps_the_interval() -> None:
    wake = session()
    assert wake.plan(105.0, NOW, [], None) is None  # 5 s up: not settled yet
    plan = wake.plan(111.0, NOW, [], None)
    assert plan is not None and (plan.wake_after_s, plan.reason) == (1800, "interval")
    assert plan.awake_s == 11.0 and plan.details()["state"] == "sleep"


def test_the_next_slot_sets_the_wake_a_boot_ahead_of_it() -> None:
    plan = session().plan(120.0, NOW, [], NOW + timedelta(minutes=20))
    assert plan is not None and (plan.wake_after_s, plan.reason) == (1140, "checkin_slot")


def test_a_slot_about_to_open_keeps_the_unit_awake() -> None:
    assert session().plan(120.0, NOW, [], NOW + timedelta(seconds=150)) is None


def test_waits_hold_the_wake_until_max_awake_but_a_check_in_is_never_cut() -> None:
    wake = session()
    assert wake.plan(150.0, NOW, ["upload", "gps_fix"], None) is None
    plan = wake.plan(281.0, NOW, ["upload", "gps_fix"], None)  # 181 s: gives up, sleeps
    assert plan is not None and plan.details()["gave_up_on"] == "upload,gps_fix"
    assert wake.plan(10_000.0, NOW, ["checkin"], None) is None


def test_time_to_first_fix_is_the_first_fix_of_the_wake() -> None:
    wake = session()
    wake.fixed(104.5)
    wake.fixed(130.0)
    plan = wake.plan(111.0, NOW, [], None)
    assert plan is not None and plan.ttff_s == 4.5 and plan.details()["ttff_s"] == 4.5


def test_the_wake_never_exceeds_the_supervisors_limit() -> None:
    rules = SessionRules(wake_interval_s=10 * 86400, min_awake_s=0)
    plan = WakeSession(rules, 0.0).plan(1.0, NOW, [], None)
    assert plan is not None and plan.wake_after_s == MAX_WAKE_AFTER_S


@pytest.mark.parametrize("bad", [{"min_awake_s": 200, "max_awake_s": 100},
                                 {"wake_interval_s": 30}])
def test_unusable_rules_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        SessionRules(**bad)
