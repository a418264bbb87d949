"""The check-in flow: capture a burst, verify it against the enrolled face, commit one record.

One check-in writes exactly one ``checkin`` record (verdict, score, the face's measured figures,
guidance, what triggered it and the scheduled slot it answers, and the model that judged it)
with the latest fresh fix, or none recorded as absent, and returns a :class:`Receipt` only after
that record is committed. ``unknown`` verdicts whose cause the wearer can fix (too dark, face too
small, head turned ...) are retried with guidance up to ``attempts`` times first. A
``no_match`` is recorded for a human to review: it is never an alarm and never escalated here.
When review images are on, the frames behind a committed ``no_match`` are then sealed to the
review desk's key, named by the record's seq; neither the record nor the receipt mentions them.

With liveness on (``[checkin.liveness]``), each try first shows the wearer a random challenge
(blink, turn left or right) as live guidance, captures a longer timed burst and judges it
(:mod:`firmware.services.liveness_check`). A burst that fails is ``liveness_failed``: recorded
with the challenge and the reason for human review, never an alarm.
"""

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from fieldcheck_protocol.clock import Clock
from fieldcheck_protocol.record import FixSummary, Kind, to_ms
from firmware.camera.base import Burst, Camera, Frame
from firmware.core.verdict import Guidance, Outcome, Verdict
from firmware.errors import CameraError, DeviceError, VerifyError
from firmware.face.base import FaceEngine
from firmware.face.liveness import LivenessResult
from firmware.face.matcher import Template
from firmware.locale import messages
from firmware.locale.catalog import Translator, translator
from firmware.services.ledger import Appended, model_version_of
from firmware.services.liveness_check import LivenessCheck
from firmware.services.schedule import CheckinSettings

logger = logging.getLogger(__name__)

#: What started a check-in (``record_body.TRIGGERS``); "remote" is a server's signed command.
Trigger = Literal["scheduled", "button", "manual", "remote"]

#: Guidance codes beyond the face gates' own: the unit, not the wearer, must be seen to.
NOT_ENROLLED = "not_enrolled"
TEMPLATE_INVALID = "template_invalid"
FACE_ENGINE_FAULT = "face_engine_fault"
#: How often a check-in looks for a fresh fix while it waits for one (seconds).
FIX_POLL_S = 1.0
#: The burst was refused as not live; the wearer is asked to follow the next challenge.
LIVENESS_FAILED = "liveness_failed"

#: The catalogue message id per guidance code and per outcome (every language has each).
GUIDANCE_IDS: Mapping[str, str] = messages.GUIDANCE_BY_CODE
OUTCOME_IDS: Mapping[str, str] = messages.OUTCOME_BY_CODE

#: Codes a wearer can act on: the check-in is tried again after telling them what to do.
RETRYABLE: frozenset[str] = frozenset(g for g in Guidance if g is not Guidance.CAMERA_FAULT)
RETRYABLE |= {LIVENESS_FAILED}


class TemplateSource(Protocol):
    """Where the enrolled template comes from (``firmware.face.template_store.TemplateStore``)."""

    def load(self, model_sha256: str) -> Template | None:
        """The template, None when nobody is enrolled; VerifyError when it cannot be opened."""
        ...


class FixSource(Protocol):
    """The ledger as the check-in sees it: the latest fix and the record writer."""

    def has_fresh_fix(self) -> bool:
        """Whether a fresh usable fix is at hand (no side effects)."""
        ...

    def current_fix(self, max_age_s: float | None = None) -> tuple[FixSummary | None,
                                                                   datetime | None]:
        """The latest usable fix no older than ``max_age_s`` (None: the policy's limit) and
        its GPS time, or (None, None)."""
        ...

    def event(self, kind: str, details: Mapping[str, Any]) -> Appended:
        """Write an ``event`` record."""
        ...

    def write(self, kind: Kind, body: Mapping[str, Any], fix: FixSummary | None = None,
              gps_time: datetime | None = None, *,
              model_version: str | None = None) -> Appended:
        """Build, sign and commit one record (``model_version``: the model that judged it)."""
        ...


class ReviewSink(Protocol):
    """Where review frames go (``firmware.face.review_images.ReviewImages``)."""

    def keep(self, frames: Sequence[Frame], seq: int, captured: datetime) -> int:
        """Seal ``frames`` of check-in record ``seq``; DeviceError when they cannot be kept."""
        ...


#: Called with (guidance code, text) when the wearer should do something before the next try.
GuidanceHook = Callable[[str, str], None]


@dataclass(frozen=True)
class Receipt:
    """What the wearer is shown after a check-in; the record it reports is already committed."""

    trigger: str
    outcome: Outcome
    guidance: str | None
    message: str
    score: float | None
    attempts: int
    seq: int
    device_time: datetime
    with_fix: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly fields (no image, embedding or coordinates)."""
        return {
            "trigger": self.trigger, "outcome": self.outcome.value, "guidance": self.guidance,
            "message": self.message, "score": self.score, "attempts": self.attempts,
            "seq": self.seq, "device_time": self.device_time.isoformat(),
            "with_fix": self.with_fix,
        }


@dataclass(frozen=True)
class Attempt:
    """One try's result: the verdict, or (with no verdict) the code of what stopped it."""

    verdict: Verdict | None
    guidance: str | None
    #: The burst the verdict rests on; only ever sealed for review, never recorded.
    frames: Sequence[Frame] = field(default=(), repr=False, compare=False)
    #: The liveness checks' result; None when liveness is off or the face was not judged.
    liveness: LivenessResult | None = None

    @property
    def outcome(self) -> Outcome:
        """The verdict's outcome (``liveness_failed`` when the burst was not live);
        ``unknown`` when no verdict was reached."""
        if self.liveness is not None and not self.liveness.passed:
            return Outcome.LIVENESS_FAILED
        return self.verdict.outcome if self.verdict is not None else Outcome.UNKNOWN


def guidance_text(code: str, words: Translator) -> str:
    """What the wearer should do for guidance ``code``, in ``words``' language."""
    message_id = GUIDANCE_IDS.get(code)
    return code if message_id is None else words.text(message_id)


def message_for(outcome: Outcome, guidance: str | None, words: Translator) -> str:
    """The wearer's text: the outcome, then what to do when there is guidance."""
    head = words.text(OUTCOME_IDS[outcome])
    if guidance is None or guidance not in GUIDANCE_IDS:
        return head
    return f"{head} {guidance_text(guidance, words)}"


def checkin_body(attempt: Attempt, trigger: Trigger,
                 slot: datetime | None = None) -> dict[str, Any]:
    """The ``checkin`` record body; absent figures are left out, never invented.

    The face figures are those of the frame the verdict rests on: ``detector_confidence``
    (0..1), ``brightness`` (mean grey 0..255), ``sharpness`` (Laplacian variance) and
    ``face_px`` (box width). ``slot`` is the due time of the scheduled slot the check-in
    answers. ``challenge``, ``liveness_result`` and (when it failed) ``liveness_reason`` are
    those of the liveness check; absent when none was made. ``liveness`` (a score) is left out:
    the checks are pass/fail on figures that are logged, not one calibrated score.
    """
    body: dict[str, Any] = {"verdict": attempt.outcome.value, "trigger": trigger}
    if slot is not None:
        body["slot"] = to_ms(slot)
    verdict = attempt.verdict
    if verdict is not None and verdict.score is not None:
        body["score"] = round(verdict.score, 4)
    quality = verdict.quality if verdict is not None else None
    if quality is not None:
        body["detector_confidence"] = round(min(max(quality.detector_score, 0.0), 1.0), 4)
        body["brightness"] = round(quality.brightness, 1)
        body["sharpness"] = round(quality.sharpness, 1)
        body["face_px"] = round(quality.face_px, 1)
    if attempt.guidance is not None:
        body["guidance"] = attempt.guidance
    if attempt.liveness is not None:
        body["challenge"] = attempt.liveness.challenge.value
        body["liveness_result"] = "passed" if attempt.liveness.passed else "failed"
        if attempt.liveness.failure is not None:
            body["liveness_reason"] = attempt.liveness.failure.value
    return body


class CheckinService:
    """Runs one check-in at a time on a started camera and face engine.

    ``sleep`` waits between tries (inject ``threading.Event.wait`` so a stop cuts it short);
    ``on_guidance`` is where a display or speaker tells the wearer what to do next;
    ``review`` (None: off) keeps the frames of a ``no_match`` for human review;
    ``words`` is the language of the receipt's ``message`` and the guidance text (default
    English: the report and the log; a screen renders the codes in the wearer's language);
    ``liveness`` (None: off) adds the challenge and the liveness checks to every try.
    """

    def __init__(self, camera: Camera, engine: FaceEngine, templates: TemplateSource,
                 ledger: FixSource, settings: CheckinSettings, *,
                 sleep: Callable[[float], object], clock: Clock,
                 on_guidance: GuidanceHook | None = None,
                 review: ReviewSink | None = None, words: Translator | None = None,
                 liveness: LivenessCheck | None = None) -> None:
        self._words = words or translator()
        self._liveness = liveness
        self._camera = camera
        self._engine = engine
        self._templates = templates
        self._ledger = ledger
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._on_guidance = on_guidance or (lambda code, text: None)
        self._review = review

    def run(self, trigger: Trigger, slot: datetime | None = None) -> Receipt:
        """One check-in: try, retry on fixable guidance, commit the record, return the receipt.

        ``slot`` is the due time of the scheduled slot this check-in answers (None: none).
        """
        started = self._clock.monotonic()
        attempt, tries = self._attempts()
        receipt = self._commit(trigger, slot, attempt, tries, started)
        self._keep_for_review(attempt, receipt)
        logger.info("check-in (%s): %s%s after %d tr%s in %.1f s, record %d%s", trigger,
                    receipt.outcome.value, f" ({receipt.guidance})" if receipt.guidance else "",
                    tries, "y" if tries == 1 else "ies", self._clock.monotonic() - started,
                    receipt.seq, "" if receipt.with_fix else ", no fresh fix")
        return receipt

    def _attempts(self) -> tuple[Attempt, int]:
        template = self._template()
        if isinstance(template, Attempt):
            return template, 0
        limit = max(1, self.settings.attempts)
        for number in range(1, limit + 1):
            attempt = self._try(template)
            fixable = (attempt.outcome in (Outcome.UNKNOWN, Outcome.LIVENESS_FAILED)
                       and attempt.guidance in RETRYABLE)
            if not fixable or number == limit:
                return attempt, number
            code = attempt.guidance or ""
            self._on_guidance(code, guidance_text(code, self._words))
            self._sleep(self.settings.retry_delay_s)
        raise AssertionError("unreachable: the last try always returns")

    def _template(self) -> Template | Attempt:
        if not self._engine.running:
            logger.error("check-in without a face engine: the models did not load (see the "
                         "start-up log); check [face] models_dir and the manifest")
            return Attempt(None, FACE_ENGINE_FAULT)
        try:
            template = self._templates.load(self._engine.model_sha256)
        except VerifyError as err:
            logger.error("the enrolled face template cannot be used: %s", err)
            return Attempt(None, TEMPLATE_INVALID)
        if template is None:
            logger.error("check-in without an enrolled face: nobody is enrolled on this unit; "
                         "a technician must enrol the wearer with "
                         "`fieldcheck-device face enroll PHOTOS --config CONFIG`")
            return Attempt(None, NOT_ENROLLED)
        if self._liveness is not None and not self._liveness.ready:
            logger.error("check-in without the liveness models: the face landmark model did not "
                         "load (see the start-up log); check [face] models_dir and the manifest")
            return Attempt(None, FACE_ENGINE_FAULT)
        return template

    def _try(self, template: Template) -> Attempt:
        if self._liveness is not None:
            return self._try_live(self._liveness, template)
        burst = self._capture(self.settings.burst_frames)
        if burst is None:
            return Attempt(None, Guidance.CAMERA_FAULT)
        frames = burst.frames
        try:
            verdict = self._engine.verify(frames, template)
        except VerifyError as err:
            logger.error("the face check failed on a captured burst: %s", err)
            return Attempt(None, FACE_ENGINE_FAULT)
        return Attempt(verdict, verdict.guidance.value if verdict.guidance else None, frames)

    def _try_live(self, check: LivenessCheck, template: Template) -> Attempt:
        """Show a random challenge, capture a timed burst, judge the face and its liveness."""
        challenge = check.challenge()
        code = f"challenge_{challenge.value}"
        self._on_guidance(code, guidance_text(code, self._words))
        self._sleep(check.settings.lead_s)  # time to read the challenge before the capture
        burst = self._capture(check.settings.frames)
        if burst is None:
            return Attempt(None, Guidance.CAMERA_FAULT)
        try:
            judged = check.judge(burst, self._engine, template, challenge)
        except VerifyError as err:
            logger.error("the face or liveness check failed on a captured burst: %s", err)
            return Attempt(None, FACE_ENGINE_FAULT)
        verdict, result = judged.verdict, judged.liveness
        guidance = verdict.guidance.value if verdict.guidance else None
        if result is not None and not result.passed:
            guidance = LIVENESS_FAILED
        return Attempt(verdict, guidance, burst.frames, result)

    def _capture(self, count: int) -> Burst | None:
        settings = self.settings
        try:
            burst = self._camera.capture_timed(count, settings.capture_timeout_s)
            if not burst.frames:
                raise CameraError(f"{self._camera.describe} returned an empty burst",
                                  "check the camera cable and `fieldcheck-device` logs")
        except CameraError as err:
            logger.error("camera fault during a check-in: %s", err)
            self._ledger.event("camera_fault", {"message": str(err)[:200]})
            return None
        return burst

    def _fix(self, started: float) -> tuple[FixSummary | None, datetime | None]:
        """A fresh fix, waiting up to ``fix_wait_s`` from the check-in's start for one;
        otherwise the last fix (its age is in the record), or none at all."""
        remaining = self.settings.fix_wait_s - (self._clock.monotonic() - started)
        for _ in range(max(0, math.ceil(remaining / FIX_POLL_S))):
            if self._ledger.has_fresh_fix():
                break
            self._sleep(FIX_POLL_S)
        fresh = self._ledger.has_fresh_fix()
        fix, gps_time = self._ledger.current_fix(math.inf)
        if fix is not None and not fresh:
            logger.warning("no fresh GPS fix for the check-in; recording the last fix, "
                           "%.0f s old", fix.age_s)
        return fix, gps_time

    def _commit(self, trigger: Trigger, slot: datetime | None, attempt: Attempt,
                tries: int, started: float) -> Receipt:
        fix, gps_time = self._fix(started)
        # The model that judged: this service's engine (the check-in thread owns it).
        appended = self._ledger.write(Kind.CHECKIN, checkin_body(attempt, trigger, slot), fix,
                                      gps_time, model_version=model_version_of(self._engine))
        score = attempt.verdict.score if attempt.verdict is not None else None
        return Receipt(
            trigger=trigger, outcome=attempt.outcome, guidance=attempt.guidance,
            message=message_for(attempt.outcome, attempt.guidance, self._words),
            score=None if score is None else round(score, 4), attempts=tries,
            seq=appended.record.seq, device_time=appended.record.device_time,
            with_fix=appended.record.fix is not None,
        )

    def _keep_for_review(self, attempt: Attempt, receipt: Receipt) -> None:
        """Seal the frames of a committed ``no_match`` or ``liveness_failed``; a failure is
        logged, the record stands."""
        if self._review is None or receipt.outcome not in (Outcome.NO_MATCH,
                                                           Outcome.LIVENESS_FAILED):
            return
        try:
            kept = self._review.keep(attempt.frames, receipt.seq, receipt.device_time)
        except DeviceError as err:
            logger.error("the frames of %s record %d were not kept for review: %s",
                         receipt.outcome.value, receipt.seq, err)
            return
        logger.info("kept %d sealed frame(s) of %s record %d for review", kept,
                    receipt.outcome.value, receipt.seq)
