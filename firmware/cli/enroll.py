"""``fieldcheck-device enroll``: a technician enrols the wearer from the unit's own camera.

N captures go through the quality gates and (when on) the liveness challenge; the template is
built on the unit from the embeddings of the captures that passed, and stored encrypted.
Enrolling over an existing template needs ``--replace`` (no one replaces the wearer by
accident) and writes a signed ``enrollment`` event naming the old and new template digests.
Enrolment from image files stays ``fieldcheck-device face enroll`` (the bench).
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

from firmware import config
from firmware.app.face_session import face_session
from firmware.app.wiring import Wiring
from firmware.camera.base import Camera
from firmware.errors import VerifyError
from firmware.face import matcher
from firmware.face.base import FaceEngine
from firmware.face.template_store import TemplateStore
from firmware.locale import messages
from firmware.locale.catalog import translator
from firmware.services.liveness_check import LivenessCheck


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``enroll`` command."""
    parser = sub.add_parser("enroll", help="enrol the wearer from the unit's camera "
                            "(quality gates and liveness), signed as an enrollment event")
    parser.add_argument("--config", type=Path, default=None,
                        help=f"config file (TOML); default {config.DEFAULT_PATH} if it exists, "
                        "else the embedded defaults")
    parser.add_argument("--captures", type=int, default=3,
                        help="captures that must pass to build the template (default 3)")
    parser.add_argument("--replace", action="store_true",
                        help="replace the enrolled template (recorded with both digests)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=_enroll)


def _enroll(args: argparse.Namespace) -> int:
    if args.captures < 1:
        raise VerifyError("--captures must be at least 1", "e.g. --captures 3")
    wiring = Wiring(config.load(config.chosen_path(args.config)))
    with face_session(wiring, "fieldcheck-device enroll") as parts:
        templates = wiring.template_store(parts.identity.device_id)
        old = _existing(templates, parts.engine, args.replace)
        template = build(parts.camera, parts.engine, parts.liveness, args.captures,
                         wiring.full.checkin.capture_timeout_s)
        templates.save(template)
        details = {"new_template": matcher.digest(template),
                   "old_template": None if old is None else old,
                   "captures": template.count,
                   "liveness": "off" if parts.liveness is None else "passed"}
        appended = parts.ledger.event("enrollment", details)
    _show(args.json, details, appended.record.seq, templates)
    return 0


def _existing(templates: TemplateStore, engine: FaceEngine, replace: bool) -> str | None:
    """The enrolled template's digest ("unreadable" when it cannot be opened), or None."""
    if not templates.enrolled():
        return None
    if not replace:
        raise VerifyError(f"a wearer is already enrolled on this unit ({templates.path})",
                          "add --replace to enrol someone over them (recorded as an "
                          "enrollment event naming both templates)")
    try:
        old = templates.load(engine.model_sha256)
    except VerifyError:
        return "unreadable"
    return None if old is None else matcher.digest(old)


def build(camera: Camera, engine: FaceEngine, liveness: LivenessCheck | None, wanted: int,
          timeout: float) -> matcher.Template:
    """Capture until ``wanted`` captures pass the gates and liveness (at most 3x as many)."""
    words = translator()
    embeddings = []
    for number in range(1, 3 * wanted + 1):
        count = 1 if liveness is None else liveness.settings.frames
        challenge = None if liveness is None else liveness.challenge()
        if challenge is not None and liveness is not None:
            code = f"challenge_{challenge.value}"
            print(f"capture {number}: ask the wearer: "
                  f"{words.text(messages.GUIDANCE_BY_CODE[code])}")
            time.sleep(liveness.settings.lead_s)
        burst = camera.capture_timed(count, timeout)
        results = [engine.check(frame) for frame in burst.frames]
        usable = [r.embedding for r in results if r.embedding is not None]
        if not usable:
            print(f"capture {number}: not used ({results[0].guidance if results else 'empty'})")
            continue
        if liveness is not None and challenge is not None:
            result = liveness.live(burst, results, challenge)
            if not result.passed:
                print(f"capture {number}: not live ({result.failure}); trying again")
                continue
        embeddings.extend(usable)
        wanted -= 1
        print(f"capture {number}: used ({len(usable)} frame(s))")
        if wanted == 0:
            return matcher.build(embeddings, engine.model_sha256, engine.threshold)
    raise VerifyError("too few captures passed the quality gates and the liveness check",
                      "improve the light, have the wearer face the camera alone and follow "
                      "the challenge, then run enroll again")


def _show(as_json: bool, details: dict[str, Any], seq: int, templates: TemplateStore) -> None:
    if as_json:
        print(json.dumps({**details, "seq": seq, "template": str(templates.path)}))
        return
    print(f"enrolled from {details['captures']} frame(s) -> {templates.path}; "
          f"enrollment event {seq} (new {details['new_template']}, "
          f"old {details['old_template'] or 'none'})")
