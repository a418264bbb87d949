"""Every screen the wearer can see, with long but real figures, for the layout tests."""

from datetime import UTC, datetime, timedelta

from firmware.locale.catalog import Translator
from firmware.ui import screens
from firmware.ui.screens import Contact, IdleState, Screen

NOW = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)


def every_screen(words: Translator) -> list[Screen]:
    """All screens in ``words``' language, with the widest figures a unit can show."""
    receipt = {"seq": 123456, "outcome": "no_match", "device_time": NOW.isoformat()}
    return [
        screens.idle(words, IdleState(NOW, NOW + timedelta(hours=2), 100, True, 99999)),
        screens.idle(words, IdleState(NOW, None, None, False, 0)),
        screens.reminder(words, NOW),
        screens.prompt(words, 59 * 60 + 59),
        screens.capture(words),
        *[screens.capture(words, code) for code in screens.GUIDANCE_IDS],
        *[screens.result(words, {**receipt, "outcome": outcome})
          for outcome in screens.OUTCOME_IDS],
        screens.result(words, receipt, 10, 10),
        screens.battery_low(words, 100),
        screens.waiting_upload(words, 99999),
        *[screens.contact_officer(words, why) for why in Contact],
    ]
