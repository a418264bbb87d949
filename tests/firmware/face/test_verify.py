"""End to end on real photos: enrol, verify, replay backend, CLI eval and enrol/verify."""

import json
import stat

import numpy as np
import pytest

from firmware.core.verdict import Guidance, Outcome
from firmware.errors import VerifyError
from firmware.face import matcher
from firmware.face.backends import replay
from firmware.store.identity import create_identity


@pytest.fixture(scope="module")
def template(engine, photo) -> matcher.Template:
    """Obama enrolled from two photos."""
    if engine.pipeline.embedder is None:
        pytest.skip("the face embedder is not built yet")
    return engine.enroll([photo("obama"), photo("obama2")])


def test_the_same_person_matches_from_another_photo(engine, photo, template) -> None:
    verdict = engine.verify([photo("obama3")], template)
    assert verdict.outcome is Outcome.MATCH
    assert verdict.distance is not None and verdict.distance < verdict.threshold == 0.6
    assert verdict.model_version.startswith("dlib_face_recognition_resnet_model_v1")


def test_another_person_is_no_match_for_review(engine, photo, template) -> None:
    verdict = engine.verify([photo("biden")], template)
    assert verdict.outcome is Outcome.NO_MATCH
    assert verdict.distance is not None and verdict.distance > 0.6
    assert verdict.guidance is None


@pytest.mark.parametrize("stem", ["obama_partial_face", "obama_partial_face2"])
def test_partial_faces_give_guidance_or_no_match_never_a_crash(engine, photo, template, stem):
    verdict = engine.verify([photo(stem)], template)
    assert verdict.outcome in (Outcome.UNKNOWN, Outcome.NO_MATCH, Outcome.MATCH)
    if verdict.outcome is Outcome.UNKNOWN:
        assert verdict.guidance is Guidance.FACE_OFF_CENTRE


def test_a_burst_with_one_dark_frame_still_decides_on_the_good_ones(engine, photo, template):
    dark = (photo("obama3") * 0.1).astype(np.uint8)
    verdict = engine.verify([dark, photo("obama3"), np.zeros((480, 640, 3), np.uint8)], template)
    assert verdict.outcome is Outcome.MATCH and verdict.frames_used == 1
    unknown = engine.verify([dark, np.zeros((480, 640, 3), np.uint8)], template)
    assert unknown.outcome is Outcome.UNKNOWN and unknown.guidance is not None


def test_enrolment_refuses_photos_of_two_people(engine, photo, template) -> None:
    with pytest.raises(VerifyError, match="may not all show the same person"):
        engine.enroll([photo("obama"), photo("biden")])


def test_replay_backend_gives_the_recorded_verdicts(engine, photo, template, tmp_path) -> None:
    frames = [photo("obama3"), photo("biden"), photo("obama_partial_face")]
    recording = tmp_path / "rec.json"
    assert replay.record(engine, frames, recording) == 3
    assert stat.S_IMODE(recording.stat().st_mode) == 0o600
    replayed = replay.create(replay.Config(recording=recording))
    replayed.start()
    for frame in frames:
        assert replayed.verify([frame], template) == engine.verify([frame], template)
        camera = np.zeros((*frame.shape[:2], 4), np.uint8)  # as the replay camera gives it
        camera[..., :3] = frame
        assert replayed.verify([camera], template) == engine.verify([frame], template)
    with pytest.raises(VerifyError, match="not in the face recording"):
        replayed.check(np.zeros((4, 4, 3), np.uint8))


def test_cli_eval_reports_figures_per_group_and_draws_a_roc(template, images, tmp_path, capsys):
    from firmware.cli import face

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "file_x,file_y,decision,group\n"
        "obama.jpg,obama2.jpg,Yes,a\nobama.jpg,obama3.jpg,Yes,a\nobama.jpg,biden.jpg,No,a\n"
        "obama2.jpg,biden.jpg,No,b\nobama3.jpg,biden.jpg,No,b\nobama2.jpg,obama3.jpg,Yes,b\n"
        "obama_partial_face.jpg,obama.jpg,Yes,b\n"
    )
    plot = tmp_path / "roc.png"
    assert face.main(["eval", "--pairs", str(pairs), "--images", str(images), "--json",
                      "--plot", str(plot)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    per_pair, report = lines[:-1], lines[-1]
    assert len(per_pair) == 7
    assert per_pair[-1]["distance"] is None and per_pair[-1]["guidance"] == "face_off_centre"
    assert report["all"]["accuracy"] == 1.0 and report["all"]["unusable"] == 1
    assert report["all"]["eer"] == 0.0
    assert set(report["groups"]) == {"a", "b"} and report["groups"]["b"]["pairs"] == 3
    group_b = report["groups"]["b"]
    assert group_b["fta"] == pytest.approx(1 / 5)  # obama_partial_face.jpg of 5 images
    assert report["groups"]["a"]["fta"] == 0.0
    assert report["all"]["fmr_ci95"][0] == 0.0 and 0.3 < report["all"]["fmr_ci95"][1] < 0.7
    assert any("only 3 usable impostor pair" in w for w in report["all"]["warnings"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_enroll_then_verify_exit_codes(images, tmp_path, capsys) -> None:
    from firmware.cli import face

    create_identity(tmp_path)
    out, unit = tmp_path / "t.fct", ["--data-dir", str(tmp_path)]
    assert face.main(["enroll", str(images / "obama.jpg"), "--out", str(out), *unit]) == 0
    assert face.main(["verify", "--template", str(out), str(images / "obama3.jpg"), *unit]) == 0
    assert face.main(["verify", "--template", str(out), str(images / "biden.jpg"), *unit]) == 1
    verdicts = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [v["outcome"] for v in verdicts] == ["match", "no_match"]
