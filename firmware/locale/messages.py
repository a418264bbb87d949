"""Every message id the wearer can be shown, declared once (Babel extracts them from here).

Ids are symbolic (``guidance.too_dark``), so a catalogue says what a text is for and the English
wording lives in ``en/LC_MESSAGES/fieldcheck.po`` like every other language. Placeholders use
``str.format`` names; the translator comment above each id says what fills them.
"""

from collections.abc import Mapping
from typing import Final


def N_(message_id: str) -> str:  # noqa: N802 - the gettext convention for "mark, do not translate"
    """Mark ``message_id`` for extraction; returns it unchanged."""
    return message_id


# Guidance: what the wearer does before the next try (one per gate failure and unit fault).
GUIDANCE_NO_FACE: Final = N_("guidance.no_face")
GUIDANCE_MULTIPLE_FACES: Final = N_("guidance.multiple_faces")
GUIDANCE_FACE_TOO_SMALL: Final = N_("guidance.face_too_small")
GUIDANCE_FACE_OFF_CENTRE: Final = N_("guidance.face_off_centre")
GUIDANCE_HEAD_TURNED: Final = N_("guidance.head_turned")
GUIDANCE_TOO_DARK: Final = N_("guidance.too_dark")
GUIDANCE_TOO_BRIGHT: Final = N_("guidance.too_bright")
GUIDANCE_BLURRY: Final = N_("guidance.blurry")
GUIDANCE_CAMERA_FAULT: Final = N_("guidance.camera_fault")
GUIDANCE_NOT_ENROLLED: Final = N_("guidance.not_enrolled")
GUIDANCE_TEMPLATE_INVALID: Final = N_("guidance.template_invalid")
GUIDANCE_FACE_ENGINE_FAULT: Final = N_("guidance.face_engine_fault")
# Liveness: the challenge shown while the burst is captured, and what to do after a refusal.
# TRANSLATORS: "left" and "right" are the wearer's own left and right.
GUIDANCE_CHALLENGE_BLINK: Final = N_("guidance.challenge_blink")
GUIDANCE_CHALLENGE_TURN_LEFT: Final = N_("guidance.challenge_turn_left")
GUIDANCE_CHALLENGE_TURN_RIGHT: Final = N_("guidance.challenge_turn_right")
GUIDANCE_LIVENESS_FAILED: Final = N_("guidance.liveness_failed")

# Outcomes: the first line of a receipt. A failed match is never an accusation.
OUTCOME_MATCH: Final = N_("outcome.match")
OUTCOME_NO_MATCH: Final = N_("outcome.no_match")
OUTCOME_UNKNOWN: Final = N_("outcome.unknown")
# TRANSLATORS: the check did not see a live face (e.g. a photo); never an accusation.
OUTCOME_LIVENESS_FAILED: Final = N_("outcome.liveness_failed")

# Screens (title, body, footer). TRANSLATORS: the screen is 128x64 pixels; keep texts short.
# TRANSLATORS: {time} is the next check-in as HH:MM.
IDLE_NEXT: Final = N_("screen.idle.next")
IDLE_NO_NEXT: Final = N_("screen.idle.no_next")
# TRANSLATORS: {percent} is a whole number 0-100.
IDLE_BATTERY: Final = N_("screen.idle.battery")
IDLE_GPS_OK: Final = N_("screen.idle.gps_ok")
IDLE_GPS_NONE: Final = N_("screen.idle.gps_none")
IDLE_SENT: Final = N_("screen.idle.sent")
# TRANSLATORS: {count} is how many records wait to be sent.
IDLE_TO_SEND: Final = N_("screen.idle.to_send")
REMINDER_TITLE: Final = N_("screen.reminder.title")
# TRANSLATORS: {time} is the check-in time as HH:MM.
REMINDER_BODY: Final = N_("screen.reminder.body")
PROMPT_TITLE: Final = N_("screen.prompt.title")
PROMPT_BODY: Final = N_("screen.prompt.body")
# TRANSLATORS: {left} is the time left as M:SS.
PROMPT_LEFT: Final = N_("screen.prompt.left")
CAPTURE_TITLE: Final = N_("screen.capture.title")
CAPTURE_BODY: Final = N_("screen.capture.body")
# TRANSLATORS: {number} is the receipt (record) number.
RESULT_RECEIPT: Final = N_("screen.result.receipt")
# TRANSLATORS: {time} is when the check-in was recorded, HH:MM.
RESULT_TIME: Final = N_("screen.result.time")
# TRANSLATORS: paging through the last receipts; {index} of {total}.
RESULT_PAGE: Final = N_("screen.result.page")
MESSAGE_TITLE: Final = N_("screen.message.title")
BATTERY_TITLE: Final = N_("screen.battery.title")
# TRANSLATORS: {percent} is a whole number 0-100.
BATTERY_BODY: Final = N_("screen.battery.body")
UPLOAD_TITLE: Final = N_("screen.upload.title")
# TRANSLATORS: {count} is how many records are saved on the device and not yet sent.
UPLOAD_BODY: Final = N_("screen.upload.body")
CONTACT_TITLE: Final = N_("screen.contact.title")
CONTACT_REVOKED: Final = N_("screen.contact.revoked")
CONTACT_NOT_ENROLLED: Final = N_("screen.contact.not_enrolled")
CONTACT_FAULT: Final = N_("screen.contact.fault")

#: Guidance and outcome codes (``firmware.core.verdict`` and the check-in's own) to their ids.
_GATE_GUIDANCE: Final[Mapping[str, str]] = {
    "no_face": GUIDANCE_NO_FACE, "multiple_faces": GUIDANCE_MULTIPLE_FACES,
    "face_too_small": GUIDANCE_FACE_TOO_SMALL, "face_off_centre": GUIDANCE_FACE_OFF_CENTRE,
    "head_turned": GUIDANCE_HEAD_TURNED, "too_dark": GUIDANCE_TOO_DARK,
    "too_bright": GUIDANCE_TOO_BRIGHT, "blurry": GUIDANCE_BLURRY,
    "camera_fault": GUIDANCE_CAMERA_FAULT, "not_enrolled": GUIDANCE_NOT_ENROLLED,
    "template_invalid": GUIDANCE_TEMPLATE_INVALID, "face_engine_fault": GUIDANCE_FACE_ENGINE_FAULT,
}
GUIDANCE_BY_CODE: Final[Mapping[str, str]] = {
    **_GATE_GUIDANCE, "challenge_blink": GUIDANCE_CHALLENGE_BLINK,
    "challenge_turn_left": GUIDANCE_CHALLENGE_TURN_LEFT,
    "challenge_turn_right": GUIDANCE_CHALLENGE_TURN_RIGHT,
    "liveness_failed": GUIDANCE_LIVENESS_FAILED,
}
OUTCOME_BY_CODE: Final[Mapping[str, str]] = {
    "match": OUTCOME_MATCH, "no_match": OUTCOME_NO_MATCH, "unknown": OUTCOME_UNKNOWN,
    "liveness_failed": OUTCOME_LIVENESS_FAILED,
}

#: Every id above, in declaration order (the catalogue tests check each in every language).
ALL: Final[tuple[str, ...]] = tuple(
    value for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and "." in value
)
