"""The check-in flow with a scripted camera and face engine, on a real SQLite store."""

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, Record, to_ms
from fieldcheck_protocol.signature import unverified_record
from firmware.core.fix import Fix, FixType
from firmware.core.verdict import Guidance, Outcome
from firmware.errors import CameraError, StoreError, VerifyError
from firmware.locale.catalog import LANGUAGES, translator
from firmware.services.checkin import (
    GUIDANCE_IDS,
    OUTCOME_IDS,
    CheckinService,
    Receipt,
    Trigger,
    message_for,
)
from firmware.services.ledger import RecordPolicy
from firmware.services.schedule import CheckinSettings
from firmware.store.backends.sqlite import SqliteRecordStore
from tests.firmware.services.checkin_fakes import (
    MATCH,
    MODEL,
    NO_MATCH,
    FixedTemplates,
    ScriptedCamera,
    ScriptedEngine,
    a_template,
    ledger_for,
    unknown,
)

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Harness:
    """A service on scripted parts; remembers the waits and the guidance shown."""

    def __init__(self, store: SqliteRecordStore, clock: ManualClock, camera: ScriptedCamera,
                 engine: ScriptedEngine, templates: FixedTemplates | None = None,
                 **settings: object) -> None:
        self.store, self.camera, self.engine = store, camera, engine
        camera.start()  # the service runs on a started camera and engine (the worker starts them)
        engine.start()
        self.recorder = ledger_for(store, clock, RecordPolicy(fix_max_age_s=30))
        self.templates = templates or FixedTemplates(a_template())
        self.waits: list[float] = []
        self.shown: list[tuple[str, str]] = []
        self.service = CheckinService(
            camera, engine, self.templates, self.recorder,
            CheckinSettings(**{"fix_wait_s": 0.0, **settings}),  # type: ignore[arg-type]
            sleep=self.waits.append, clock=clock,
            on_guidance=lambda code, text: self.shown.append((code, text)),
        )

    def run(self, trigger: Trigger = "manual") -> Receipt:
        return self.service.run(trigger)

    def records(self) -> list[Record]:
        return [unverified_record(r.cose) for r in self.store.records()]

    def checkins(self) -> list[Record]:
        return [r for r in self.records() if r.kind is Kind.CHECKIN]


def harness(store, clock, camera=(), engine=(), **kwargs) -> Harness:
    return Harness(store, clock, ScriptedCamera(camera), ScriptedEngine(engine), **kwargs)


def test_a_match_is_one_committed_record_and_its_receipt(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH], burst_frames=4, capture_timeout_s=2.5)
    receipt = h.run("button")
    (record,) = h.records()
    assert record.kind is Kind.CHECKIN and record.seq == receipt.seq
    assert record.body == {"verdict": "match", "trigger": "button", "score": 0.75,
                           "detector_confidence": 0.93, "brightness": 120.0, "sharpness": 80.0,
                           "face_px": 160.0}
    assert record.model_version == MODEL  # the engine that judged it
    assert record.fix is None and record.gps_time is None  # no fix: absent, not invented
    assert h.camera.bursts == [(4, 2.5)] and h.engine.calls == [4]
    assert h.templates.asked == [MODEL]
    assert receipt.as_dict() == {
        "trigger": "button", "outcome": "match", "guidance": None,
        "message": "Check-in recorded. Thank you.", "score": 0.75, "attempts": 1,
        "seq": record.seq, "device_time": START.isoformat(), "with_fix": False,
    }


def test_an_engine_that_did_not_start_is_recorded_as_a_fault(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH])
    h.engine.stop()  # e.g. the models failed their manifest check at boot
    receipt = h.run("button")
    assert (receipt.outcome.value, receipt.guidance) == ("unknown", "face_engine_fault")
    assert h.checkins()[0].body == {"verdict": "unknown", "trigger": "button",
                                    "guidance": "face_engine_fault"}
    assert h.checkins()[0].model_version == "none"  # no model was loaded to judge it
    assert h.engine.calls == [] and h.camera.bursts == []


def test_fixable_guidance_is_retried_and_only_the_last_try_is_recorded(store, clock) -> None:
    h = harness(store, clock, engine=[unknown(Guidance.TOO_DARK), unknown(Guidance.HEAD_TURNED),
                                      MATCH], attempts=3, retry_delay_s=2.0)
    receipt = h.run()
    assert receipt.outcome is Outcome.MATCH and receipt.attempts == 3
    assert h.shown == [("too_dark", "Move somewhere with more light."),
                       ("head_turned", "Face the camera directly.")]
    assert h.waits == [2.0, 2.0]
    assert [r.body["verdict"] for r in h.records()] == ["match"]


def test_when_tries_run_out_the_unknown_is_recorded_with_its_guidance(store, clock) -> None:
    h = harness(store, clock, engine=[unknown(Guidance.FACE_TOO_SMALL)] * 2, attempts=2)
    receipt = h.run("scheduled")
    assert (receipt.outcome, receipt.guidance, receipt.attempts) == (
        Outcome.UNKNOWN, "face_too_small", 2)
    assert receipt.message == ("Check-in recorded, but the face could not be checked. "
                               "Hold the device closer to your face.")
    assert h.checkins()[0].body == {"verdict": "unknown", "trigger": "scheduled",
                                    "guidance": "face_too_small"}
    assert len(h.shown) == 1  # told once between the two tries, the receipt tells the rest


def test_no_match_is_recorded_for_review_without_retry_or_event(store, clock) -> None:
    h = harness(store, clock, engine=[NO_MATCH, MATCH])
    receipt = h.run()
    assert receipt.outcome is Outcome.NO_MATCH and receipt.attempts == 1
    assert receipt.message == "Check-in recorded. A person will review it."
    assert [(r.kind, r.body["verdict"]) for r in h.records()] == [(Kind.CHECKIN, "no_match")]
    assert h.checkins()[0].body["score"] == pytest.approx(1 - 0.8 / 1.2, abs=1e-4)


@pytest.mark.parametrize(("fault", "said"), [
    (CameraError("no frame in 5 s", "check the cable"), "no frame in 5 s (check the cable)"),
    (0, "scripted camera returned an empty burst"),
])
def test_a_camera_fault_is_an_event_and_an_unknown_check_in(store, clock, fault, said) -> None:
    h = harness(store, clock, camera=[fault], engine=[MATCH], attempts=3)
    receipt = h.run()
    assert (receipt.outcome, receipt.guidance, receipt.attempts) == (
        Outcome.UNKNOWN, "camera_fault", 1)
    event, checkin = h.records()
    assert event.kind is Kind.EVENT and event.body["type"] == "camera_fault"
    assert event.body["details"]["message"].startswith(said)
    assert checkin.body == {"verdict": "unknown", "trigger": "manual",
                            "guidance": "camera_fault"}
    assert h.engine.calls == [] and h.waits == []


def test_nobody_enrolled_tells_the_technician_and_records_unknown(store, clock, caplog) -> None:
    h = harness(store, clock, templates=FixedTemplates(None))
    with caplog.at_level(logging.ERROR):
        receipt = h.run()
    assert (receipt.outcome, receipt.guidance, receipt.attempts) == (
        Outcome.UNKNOWN, "not_enrolled", 0)
    assert "fieldcheck-device face enroll" in caplog.text
    assert h.camera.bursts == []
    assert h.checkins()[0].body == {"verdict": "unknown", "trigger": "manual",
                                    "guidance": "not_enrolled"}


def test_an_unusable_template_or_engine_fault_is_recorded_not_raised(store, clock) -> None:
    bad = FixedTemplates(VerifyError("template t.fct does not decrypt", "enrol again"))
    assert harness(store, clock, templates=bad).run().guidance == "template_invalid"
    broken = harness(store, clock, engine=[VerifyError("runner failed", "reinstall")])
    assert broken.run().guidance == "face_engine_fault"
    assert [r.body for r in broken.checkins()] == [
        {"verdict": "unknown", "trigger": "manual", "guidance": "template_invalid"},
        {"verdict": "unknown", "trigger": "manual", "guidance": "face_engine_fault"},
    ]


def test_the_latest_fresh_fix_is_attached_and_a_stale_one_with_its_age(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH, MATCH])
    fix = Fix(utc=START - timedelta(seconds=1), time_key=0, latitude=47.37, longitude=8.54,
              altitude_m=420.0, quality=1, fix_type=FixType.THREE_D, valid=True, hdop=0.9,
              pdop=1.4, vdop=1.1, satellites_used=9, received_mono=clock.mono,
              clock_offset_s=0.1)
    h.recorder.on_fix(fix)
    clock.advance(5)
    assert h.run().with_fix
    checkin = h.checkins()[-1]
    assert checkin.fix is not None and checkin.fix.lat == 47.37 and checkin.fix.age_s == 5.0
    assert checkin.gps_time == fix.utc
    clock.advance(60)  # no fresh fix: the last one is recorded, and how old it is
    assert h.run().with_fix
    stale = h.checkins()[-1].fix
    assert stale is not None and stale.lat == 47.37 and stale.age_s == 65.0


def a_fix(clock: ManualClock) -> Fix:
    return Fix(utc=START, time_key=0, latitude=47.37, longitude=8.54, altitude_m=420.0,
               quality=1, fix_type=FixType.THREE_D, valid=True, hdop=0.9, pdop=1.4, vdop=1.1,
               satellites_used=9, received_mono=clock.mono, clock_offset_s=0.1)


def test_a_check_in_waits_a_bounded_time_for_a_fresh_fix(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH], fix_wait_s=4.0)
    h.service._sleep = lambda s: (h.waits.append(s), clock.advance(s),  # the wait passes
                                  len(h.waits) == 2 and h.recorder.on_fix(a_fix(clock)))
    assert h.run().with_fix
    assert h.waits == [1.0, 1.0]  # it stopped waiting once the fix came
    assert h.checkins()[-1].fix is not None and h.checkins()[-1].fix.age_s == 0.0


def test_without_any_fix_the_wait_ends_and_none_is_recorded(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH], fix_wait_s=3.0)
    assert not h.run().with_fix
    assert h.waits == [1.0, 1.0, 1.0]  # bounded, even on a clock that stands still
    assert h.checkins()[-1].fix is None


def test_no_receipt_without_a_committed_record(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH])
    store.stop()  # a store that cannot commit
    with pytest.raises(StoreError):
        h.run()


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_guidance_code_and_outcome_has_a_text_in_every_language(language: str) -> None:
    assert {g.value for g in Guidance} <= set(GUIDANCE_IDS)
    assert {"not_enrolled", "template_invalid", "face_engine_fault"} <= set(GUIDANCE_IDS)
    assert set(OUTCOME_IDS) == set(Outcome)
    words = translator(language)
    for message_id in (*GUIDANCE_IDS.values(), *OUTCOME_IDS.values()):
        assert words.has(message_id), (language, message_id)
        text = words.text(message_id)
        assert text.endswith(".") and len(text) < 100, (language, text)


def test_settings_from_a_config_table() -> None:
    from firmware.core.settings import SettingsError, build

    settings = build(CheckinSettings, {"mode": "times", "times": ["07:30"], "attempts": 2},
                     "checkin")
    assert replace(settings, attempts=3) == CheckinSettings(mode="times", times=("07:30",))
    with pytest.raises(SettingsError, match="not one of"):
        build(CheckinSettings, {"mode": "hourly"}, "checkin")


def test_the_record_carries_its_trigger_and_the_slot_it_answers(store, clock) -> None:
    h = harness(store, clock, engine=[MATCH, MATCH])
    slot = START - timedelta(minutes=5)
    h.service.run("remote", slot)
    h.run("button")
    first, second = h.checkins()
    assert first.body["trigger"] == "remote" and first.body["slot"] == to_ms(slot)
    assert second.body["trigger"] == "button" and "slot" not in second.body  # answers none


RECORDED_WORDS = {"en": "recorded", "es": "guardado", "pt": "salvo", "ht": "anrejistre"}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_receipt_says_recorded_once_even_for_a_camera_fault(language: str) -> None:
    words = translator(language)
    for code in GUIDANCE_IDS:
        message = message_for(Outcome.UNKNOWN, code, words).lower()
        assert message.count(RECORDED_WORDS[language]) == 1, (language, code, message)
        sentences = [s.strip() for s in message.split(".") if s.strip()]
        assert len(sentences) == len(set(sentences)), message
