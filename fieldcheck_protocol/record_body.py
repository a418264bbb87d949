"""The kind-specific record fields (schema v1) as a declarative table of frozen dataclasses."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class FieldType(StrEnum):
    """Value types a body field may have."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DETAILS = "details"  # flat map: text key (<= 23 bytes) -> text | int | float | bool | null


@dataclass(frozen=True)
class BodyField:
    """One field of a kind's body: its name, type, whether it must be present, allowed values."""

    name: str
    type: FieldType
    required: bool
    choices: tuple[str, ...] = ()
    help: str = ""


VERDICTS: tuple[str, ...] = ("match", "no_match", "unknown")
# A burst refused by the liveness checks (a photo, a screen, frozen frames): for review.
VERDICTS += ("liveness_failed",)
#: The liveness challenge a check-in asked for, its result and why it failed.
CHALLENGES = ("blink", "turn_left", "turn_right")
LIVENESS_RESULTS = ("passed", "failed")
LIVENESS_REASONS = ("frozen_burst", "too_few_faces", "identity_changed", "moved_as_one",
                    "challenge_not_met")
#: What started a check-in: the schedule, the wearer's button, a technician, a server command.
TRIGGERS = ("scheduled", "button", "manual", "remote")

# Adding a type is a schema change the server must learn too; keep the list in one place.
EVENT_TYPES: tuple[str, ...] = (
    "boot", "shutdown", "fix_lost", "fix_regained", "tamper", "battery", "camera_fault",
    "clock_jump", "storage_low", "storage_recovered", "config_change", "chain_broken",
    "integrity_failed", "records_missing", "power", "watchdog_reset", "supervisor_fault",
    "enrollment", "firmware_update", "checkin_missed", "safe_mode",
    "schedule",  # a local day's check-in slots, published once when drawn
)
# The answer to a signed server command (fieldcheck_protocol.command); added apart from the
# tuple above so concurrent additions merge cleanly.
EVENT_TYPES += ("command",)
# The technician's self-test result (fieldcheck-device selftest).
EVENT_TYPES += ("selftest",)
# The unit's last record before it erases its key and data; the server retires the unit on it.
DECOMMISSIONED = "decommissioned"
EVENT_TYPES += (DECOMMISSIONED,)

_BODIES: dict[str, tuple[BodyField, ...]] = {
    "checkin": (
        BodyField("verdict", FieldType.TEXT, True, VERDICTS,
                  "match, no_match, unknown or liveness_failed"),
        # Optional only so that records of firmware 0.1.0 (which had no trigger) still decode;
        # this firmware writes it on every check-in.
        BodyField("trigger", FieldType.TEXT, False, TRIGGERS, "what started the check-in"),
        BodyField("slot", FieldType.INT, False,
                  help="due time of the scheduled slot it answers, epoch ms; absent: none"),
        BodyField("score", FieldType.FLOAT, False, help="face similarity of the best frame"),
        BodyField("liveness", FieldType.FLOAT, False, help="liveness score, 0..1"),
        BodyField("challenge", FieldType.TEXT, False, CHALLENGES,
                  help="what the wearer was asked to do for the liveness check"),
        BodyField("liveness_result", FieldType.TEXT, False, LIVENESS_RESULTS,
                  help="passed or failed; absent: no liveness check was made"),
        BodyField("liveness_reason", FieldType.TEXT, False, LIVENESS_REASONS,
                  help="why the liveness check failed"),
        BodyField("detector_confidence", FieldType.FLOAT, False,
                  help="face detector confidence on the frame the verdict rests on, 0..1"),
        BodyField("brightness", FieldType.FLOAT, False,
                  help="mean grey level of that face, 0..255"),
        BodyField("sharpness", FieldType.FLOAT, False,
                  help="variance of the Laplacian of that face's grey chip (higher: sharper)"),
        BodyField("face_px", FieldType.FLOAT, False, help="width of that face's box, pixels"),
        BodyField("quality", FieldType.FLOAT, False,
                  help="deprecated, written only by firmware 0.1.0: the detector confidence "
                  "(now detector_confidence); kept so its records still decode"),
        BodyField("guidance", FieldType.TEXT, False, help="what the wearer was told to do"),
    ),
    "location": (
        BodyField("interval", FieldType.INT, False, help="scheduled location interval, s"),
    ),
    "event": (
        BodyField("type", FieldType.TEXT, True, EVENT_TYPES, "what happened"),
        BodyField("details", FieldType.DETAILS, False, help="event-specific facts"),
    ),
}

#: Body fields by kind value ("checkin", "location", "event"); a ``Kind`` looks up the same.
BODY_FIELDS: Mapping[str, tuple[BodyField, ...]] = MappingProxyType(_BODIES)
