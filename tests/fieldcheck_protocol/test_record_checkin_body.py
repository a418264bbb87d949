"""The check-in body says what each figure is, what triggered it and which slot it answers."""

import pytest

from fieldcheck_protocol.record import Kind, RecordError, decode_payload, encode_payload
from fieldcheck_protocol.record_body import TRIGGERS
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_record

KEY = fixed_key()
FIGURES = {"detector_confidence": 0.93, "brightness": 121.5, "sharpness": 84.2, "face_px": 161.0}


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_check_in_with_its_trigger_slot_and_named_figures_round_trips(trigger: str) -> None:
    body = {"verdict": "match", "trigger": trigger, "slot": 1_795_000_000_000, "score": 0.8,
            **FIGURES}
    record = sample_record(KEY, Kind.CHECKIN, body=body)
    assert decode_payload(encode_payload(record)).body == body


def test_the_triggers_are_the_four_the_unit_knows() -> None:
    assert set(TRIGGERS) == {"scheduled", "button", "manual", "remote"}


@pytest.mark.parametrize("body", [
    {"verdict": "match", "trigger": "alarm"},
    {"verdict": "match", "slot": "09:00"},
    {"verdict": "match", "brightness": float("nan")},
])
def test_unknown_triggers_text_slots_and_non_finite_figures_are_refused(body) -> None:
    with pytest.raises(RecordError):
        sample_record(KEY, Kind.CHECKIN, body=body)


def test_a_record_of_firmware_0_1_0_with_its_quality_field_still_decodes() -> None:
    old = sample_record(KEY, Kind.CHECKIN, body={"verdict": "match", "score": 0.8,
                                                 "quality": 0.93})
    assert decode_payload(encode_payload(old)).body["quality"] == 0.93
