"""The check-in with liveness on: the challenge shown, the burst judged, a refusal recorded as
``liveness_failed`` with its challenge and reason (for review, never an alarm)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind, Record
from fieldcheck_protocol.signature import unverified_record
from firmware.camera.base import Burst, Frame
from firmware.core.verdict import Guidance, Outcome
from firmware.face.base import FaceEngine, FrameResult
from firmware.face.liveness import LivenessSettings, Points
from firmware.services.checkin import CheckinService, Receipt
from firmware.services.ledger import RecordPolicy
from firmware.services.liveness_check import LivenessCheck
from firmware.services.schedule import CheckinSettings
from firmware.tools import face_mesh_sim as sim
from tests.firmware.services.checkin_fakes import (
    MODEL,
    QUALITY,
    FixedTemplates,
    ScriptedCamera,
    a_template,
    ledger_for,
)


class FrameEngine(FaceEngine):
    """Every frame has a usable face whose embedding is ``distance`` from the zero template."""

    def __init__(self, distance: float = 0.3, face: bool = True) -> None:
        self.model_sha256, self.threshold, self.model_version = MODEL, 0.6, "test-model"
        self.embedding = np.zeros(128, np.float32)
        self.embedding[0] = distance
        self.face = face

    def check(self, frame: Frame) -> FrameResult:
        if not self.face:
            return FrameResult(guidance=Guidance.NO_FACE, quality=None, embedding=None)
        return FrameResult(guidance=None, quality=QUALITY, embedding=self.embedding)

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass


@dataclass
class TrackLandmarks:
    """Landmarks per frame from scripted sequences, one sequence per burst, frame by frame."""

    sequences: list[list[Points]]
    running: bool = True
    used: list[int] = field(default_factory=list)
    faces: list[list[object]] = field(default_factory=list)

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def burst_points(self, frames: Sequence[Frame],
                     faces: Sequence[object] = ()) -> list[Points | None]:
        self.faces.append(list(faces))
        return [self.points(frame) for frame in frames]

    def points(self, frame: Frame) -> Points | None:
        index = int(frame[0, 0, 0]) - 10  # ScriptedCamera's frame i is filled with 10 + i
        if index == 0:
            self.used.append(len(self.used))
        return self.sequences[min(len(self.used) - 1, len(self.sequences) - 1)][index]


class FrozenCamera(ScriptedCamera):
    """One frame repeated (a still image fed to the camera input)."""

    def capture_timed(self, count: int, timeout: float = 5.0) -> Burst:
        frame = np.full((4, 4, 3), 10, np.uint8)
        return Burst((frame,) * count, tuple(1.0 + i / 30 for i in range(count)))


def run(store, clock: ManualClock, landmarks: TrackLandmarks, *, engine: FaceEngine | None = None,
        camera: ScriptedCamera | None = None, challenges: Sequence[str] = ("blink",),
        attempts: int = 1) -> tuple[Receipt, list[Record], list[tuple[str, str]], list[float]]:
    camera = camera or ScriptedCamera([])
    engine = engine or FrameEngine()
    camera.start()
    engine.start()
    shown: list[tuple[str, str]] = []
    waits: list[float] = []
    live = LivenessSettings(challenges=tuple(challenges), lead_s=1.5)  # type: ignore[arg-type]
    settings = CheckinSettings(attempts=attempts, retry_delay_s=0.5, fix_wait_s=0.0,
                               liveness=live)
    draws = iter(range(100))  # challenges in their configured order, one per try
    check = LivenessCheck(landmarks, settings.liveness, draw=lambda n: next(draws) % n)
    service = CheckinService(camera, engine, FixedTemplates(a_template()),
                             ledger_for(store, clock, RecordPolicy(fix_max_age_s=30)), settings,
                             sleep=waits.append, clock=clock,
                             on_guidance=lambda code, text: shown.append((code, text)),
                             liveness=check)
    receipt = service.run("button")
    records = [unverified_record(r.cose) for r in store.records()]
    return receipt, records, shown, waits


def test_a_live_blink_when_asked_is_a_match_that_records_the_challenge(store, clock) -> None:
    rng = np.random.default_rng(1)
    receipt, records, shown, waits = run(store, clock, TrackLandmarks([sim.blink(rng)]))
    assert receipt.outcome is Outcome.MATCH
    (record,) = records
    assert record.body["verdict"] == "match" and record.body["challenge"] == "blink"
    assert record.body["liveness_result"] == "passed" and "liveness_reason" not in record.body
    assert shown[0] == ("challenge_blink", "Look at the camera and blink slowly.")
    assert waits == [1.5]  # the challenge is shown before the capture starts


def test_a_print_moved_as_one_is_refused_after_each_try_with_a_new_challenge(
        store, clock) -> None:
    rng = np.random.default_rng(2)
    prints = TrackLandmarks([sim.flat_picture(rng) for _ in range(3)])
    receipt, records, shown, _ = run(store, clock, prints, attempts=3,
                                     challenges=("blink", "turn_left", "turn_right"))
    assert receipt.outcome is Outcome.LIVENESS_FAILED and receipt.attempts == 3
    assert receipt.guidance == "liveness_failed"
    assert [code for code, _ in shown] == [
        "challenge_blink", "liveness_failed", "challenge_turn_left", "liveness_failed",
        "challenge_turn_right"]
    (record,) = records  # one check-in record, no alarm event
    assert record.kind is Kind.CHECKIN
    assert record.body["verdict"] == "liveness_failed"
    assert record.body["liveness_result"] == "failed"
    assert record.body["liveness_reason"] == "moved_as_one"
    assert record.body["challenge"] == "turn_right"
    assert record.body["score"] > 0.5  # the face matched: the reviewer sees both facts
    assert "Check-in recorded. A person will review it." in receipt.message


def test_a_frozen_burst_is_refused_as_its_own_reason(store, clock) -> None:
    rng = np.random.default_rng(3)
    receipt, records, _, _ = run(store, clock, TrackLandmarks([sim.blink(rng)]),
                                 camera=FrozenCamera([]))
    assert receipt.outcome is Outcome.LIVENESS_FAILED
    assert records[0].body["liveness_reason"] == "frozen_burst"


def test_a_face_the_engine_cannot_judge_keeps_its_own_guidance(store, clock) -> None:
    rng = np.random.default_rng(4)
    receipt, records, _, _ = run(store, clock, TrackLandmarks([sim.blink(rng)]),
                                 engine=FrameEngine(face=False))
    assert receipt.outcome is Outcome.UNKNOWN and receipt.guidance == "no_face"
    assert "liveness_result" not in records[0].body and "challenge" not in records[0].body


def test_without_the_landmark_model_a_check_in_is_a_face_engine_fault(store, clock) -> None:
    rng = np.random.default_rng(5)
    receipt, _, _, _ = run(store, clock, TrackLandmarks([sim.blink(rng)], running=False))
    assert receipt.outcome is Outcome.UNKNOWN and receipt.guidance == "face_engine_fault"


@pytest.mark.parametrize("distance", [0.9])
def test_another_persons_live_face_is_still_a_no_match(store, clock, distance) -> None:
    rng = np.random.default_rng(6)
    receipt, records, _, _ = run(store, clock, TrackLandmarks([sim.blink(rng)]),
                                 engine=FrameEngine(distance))
    assert receipt.outcome is Outcome.NO_MATCH
    assert records[0].body["liveness_result"] == "passed"
