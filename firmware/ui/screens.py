"""What each screen says: plain text built from the unit's state in the wearer's language.

A :class:`Screen` is a title, paragraphs of body text and a footer; :mod:`firmware.ui.layout`
wraps and draws it. Every text comes from the catalogue by message id; only figures (times,
numbers, percentages) are filled in. Times are shown as the unit's local HH:MM.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from firmware.locale import messages as m
from firmware.locale.catalog import Translator

OUTCOME_IDS = m.OUTCOME_BY_CODE
GUIDANCE_IDS = m.GUIDANCE_BY_CODE


class Contact(StrEnum):
    """Why the wearer must contact their officer."""

    REVOKED = "revoked"
    NOT_ENROLLED = "not_enrolled"
    FAULT = "fault"


CONTACT_IDS: Mapping[Contact, str] = {
    Contact.REVOKED: m.CONTACT_REVOKED, Contact.NOT_ENROLLED: m.CONTACT_NOT_ENROLLED,
    Contact.FAULT: m.CONTACT_FAULT,
}


@dataclass(frozen=True)
class Screen:
    """One screen's texts; ``name`` names the frame (bench PNGs, console lines, tests)."""

    name: str
    title: str
    body: tuple[str, ...] = ()
    footer: str = ""


@dataclass(frozen=True)
class IdleState:
    """What the idle screen shows; None for what the unit does not know yet."""

    now: datetime
    next_due: datetime | None = None
    battery_percent: int | None = None
    gps_ok: bool = False
    to_send: int = 0


def hhmm(moment: datetime) -> str:
    """A time as the wearer reads it (24-hour HH:MM, the unit's local zone)."""
    return moment.astimezone().strftime("%H:%M")


def idle(words: Translator, state: IdleState) -> Screen:
    """Time, next check-in, battery, GPS and upload state."""
    next_line = (words.text(m.IDLE_NEXT, time=hhmm(state.next_due)) if state.next_due
                 else words.text(m.IDLE_NO_NEXT))
    gps = words.text(m.IDLE_GPS_OK if state.gps_ok else m.IDLE_GPS_NONE)
    battery = ("" if state.battery_percent is None
               else words.text(m.IDLE_BATTERY, percent=state.battery_percent) + " · ")
    upload = (words.text(m.IDLE_TO_SEND, count=state.to_send) if state.to_send
              else words.text(m.IDLE_SENT))
    return Screen("idle", hhmm(state.now), (next_line, battery + gps, upload))


def reminder(words: Translator, due: datetime) -> Screen:
    """A check-in is coming: when, and to find light."""
    return Screen("reminder", words.text(m.REMINDER_TITLE),
                  (words.text(m.REMINDER_BODY, time=hhmm(due)),))


def prompt(words: Translator, seconds_left: float) -> Screen:
    """Check in now: press the button; the countdown to the window's close."""
    left = max(0, int(seconds_left))
    return Screen("prompt", words.text(m.PROMPT_TITLE), (words.text(m.PROMPT_BODY),),
                  words.text(m.PROMPT_LEFT, left=f"{left // 60}:{left % 60:02d}"))


def capture(words: Translator, guidance: str | None = None) -> Screen:
    """During the capture: what to do now (the gate's guidance, or hold still)."""
    message_id = GUIDANCE_IDS.get(guidance or "", m.CAPTURE_BODY)
    return Screen("capture" if guidance is None else f"guidance-{guidance}",
                  words.text(m.CAPTURE_TITLE), (words.text(message_id),))


def result(words: Translator, receipt: Mapping[str, Any], index: int = 1,
           total: int = 1) -> Screen:
    """A receipt: its number, what was recorded, when; ``index`` of ``total`` when paging."""
    recorded = receipt["device_time"]
    when = datetime.fromisoformat(recorded) if isinstance(recorded, str) else recorded
    footer = words.text(m.RESULT_TIME, time=hhmm(when))
    if total > 1:  # paging: the time alone, so the page fits beside it
        footer = f"{hhmm(when)} · {words.text(m.RESULT_PAGE, index=index, total=total)}"
    outcome = OUTCOME_IDS.get(str(receipt.get("outcome")), m.OUTCOME_UNKNOWN)
    return Screen("result" if total <= 1 else f"receipt-{index}",
                  words.text(m.RESULT_RECEIPT, number=receipt["seq"]),
                  (words.text(outcome),), footer)


def officer_message(words: Translator, text: str) -> Screen:
    """A message from the officer (its text as sent; the layout pages it if it is long)."""
    return Screen("message", words.text(m.MESSAGE_TITLE), (text.strip(),))


def battery_low(words: Translator, percent: int) -> Screen:
    """The battery is low: charge soon."""
    return Screen("battery_low", words.text(m.BATTERY_TITLE),
                  (words.text(m.BATTERY_BODY, percent=percent),))


def waiting_upload(words: Translator, count: int) -> Screen:
    """Records saved on the unit that the server has not acknowledged yet."""
    return Screen("upload", words.text(m.UPLOAD_TITLE),
                  (words.text(m.UPLOAD_BODY, count=count),))


def contact_officer(words: Translator, why: Contact) -> Screen:
    """The unit cannot take check-ins for the wearer: contact the officer."""
    return Screen(f"contact-{why.value}", words.text(m.CONTACT_TITLE),
                  (words.text(CONTACT_IDS[why]),))
