"""Verdict rules: median distance decides, unknown carries the most common guidance."""

from firmware.core.verdict import FrameCheck, Guidance, Outcome, Quality, combine, decide

Q = Quality(faces=1, detector_score=0.9, face_px=200.0, brightness=120.0, sharpness=90.0, yaw=0.0)


def test_decide_is_strictly_below_threshold() -> None:
    assert decide(0.59, 0.6) is Outcome.MATCH
    assert decide(0.6, 0.6) is Outcome.NO_MATCH


def test_median_of_usable_frames_decides_so_one_odd_frame_cannot_flip_it() -> None:
    checks = [FrameCheck(Q, None, 0.3), FrameCheck(Q, None, 0.9), FrameCheck(Q, None, 0.4),
              FrameCheck(None, Guidance.BLURRY)]
    verdict = combine(checks, 0.6, "m1")
    assert verdict.outcome is Outcome.MATCH
    assert verdict.distance == 0.4
    assert (verdict.frames_used, verdict.frames_total) == (3, 4)
    assert verdict.score is not None and 0.6 < verdict.score < 0.7


def test_no_usable_frame_is_unknown_with_the_most_common_failure() -> None:
    checks = [FrameCheck(None, Guidance.TOO_DARK), FrameCheck(None, Guidance.NO_FACE),
              FrameCheck(Q, Guidance.TOO_DARK)]
    verdict = combine(checks, 0.6, "m1")
    assert verdict.outcome is Outcome.UNKNOWN
    assert verdict.guidance is Guidance.TOO_DARK
    assert verdict.distance is None and verdict.score is None
    assert verdict.quality == Q


def test_ties_go_to_the_earlier_gate_and_an_empty_burst_is_a_camera_fault() -> None:
    tie = [FrameCheck(None, Guidance.BLURRY), FrameCheck(None, Guidance.NO_FACE)]
    assert combine(tie, 0.6, "m").guidance is Guidance.NO_FACE
    assert combine([], 0.6, "m").guidance is Guidance.CAMERA_FAULT


def test_far_distance_is_no_match_never_unknown() -> None:
    verdict = combine([FrameCheck(Q, None, 0.95)], 0.6, "m")
    assert verdict.outcome is Outcome.NO_MATCH
    assert verdict.guidance is None
