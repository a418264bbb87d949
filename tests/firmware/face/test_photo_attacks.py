"""Photo attacks on the real models: a print of the enrolled wearer held still or moved as
one matches the face, and is refused by the liveness checks (issue 9: 12 of 12 such attacks
were accepted as ``match`` before).

The frames are the sample photo with sensor noise (so the burst is not frozen), warped frame
by frame by a growing homography for the moved print. A live blink or turn cannot be made from
photos; those pass on synthetic landmark sequences (``test_liveness.py``).
"""

import numpy as np
import pytest
from PIL import Image

from firmware.camera.base import Burst
from firmware.core.verdict import Outcome
from firmware.face import liveness
from firmware.face.backends.landmarks_tflite import TfliteLandmarks
from firmware.face.liveness import Challenge, LivenessSettings
from firmware.services.liveness_check import LivenessCheck
from tests.firmware.face.conftest import MODELS

FRAMES = 6


@pytest.fixture(scope="module")
def landmarks() -> TfliteLandmarks:
    finder = TfliteLandmarks(MODELS)
    finder.start()
    return finder


def noisy(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The frame as a camera sees it again: the same scene, new sensor noise."""
    return np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)


def warped(frame: np.ndarray, k: float) -> np.ndarray:
    """The print tilted and shifted as one (a homography growing with ``k`` in 0..1)."""
    h, w = frame.shape[:2]
    coeffs = (1 + 0.06 * k, 0.04 * k, -25 * k, -0.03 * k, 1 - 0.04 * k, 18 * k,
              8e-5 * k, -5e-5 * k)
    picture = Image.fromarray(frame).transform((w, h), Image.Transform.PERSPECTIVE, coeffs,
                                               resample=Image.Resampling.BILINEAR)
    return np.asarray(picture)


def burst_of(frames: list[np.ndarray]) -> Burst:
    return Burst(tuple(frames), tuple(10.0 + i / 15 for i in range(len(frames))))


def test_the_landmarks_sit_on_the_detected_eyes(landmarks, photo) -> None:
    frame = photo("obama")
    points = landmarks.points(frame)
    assert points is not None and points.shape == (liveness.MESH_POINTS, 2)
    centre_image_left = points[list(liveness.RIGHT_EYE[:4])].mean(axis=0)
    centre_image_right = points[list(liveness.LEFT_EYE[:4])].mean(axis=0)
    unit = liveness.eye_distance(points)
    assert 0.5 * unit < centre_image_right[0] - centre_image_left[0] < unit
    assert abs(liveness.yaw_ratio(points)) < 0.1  # the photo faces the camera
    assert 0.1 < liveness.eye_aspect_ratio(points) < 0.45  # eyes open


@pytest.mark.parametrize("challenge", list(Challenge))
@pytest.mark.parametrize("moved", [False, True])
def test_a_print_of_the_enrolled_wearer_matches_but_is_refused(
        engine, landmarks, photo, challenge, moved) -> None:
    template = engine.enroll([photo("obama"), photo("obama2")])
    rng = np.random.default_rng(len(challenge) + moved)
    source = photo("obama3")
    frames = [noisy(warped(source, i / (FRAMES - 1)) if moved else source, rng)
              for i in range(FRAMES)]
    check = LivenessCheck(landmarks, LivenessSettings())
    judged = check.judge(burst_of(frames), engine, template, challenge)
    assert judged.verdict.outcome is Outcome.MATCH  # the face alone would have passed
    assert judged.liveness is not None and not judged.liveness.passed, judged.liveness
    assert "liveness" in judged.timings


def test_one_photo_repeated_is_refused_as_frozen(engine, landmarks, photo) -> None:
    template = engine.enroll([photo("obama"), photo("obama2")])
    source = photo("obama3")
    judged = LivenessCheck(landmarks, LivenessSettings()).judge(
        burst_of([source] * 4), engine, template, Challenge.BLINK)
    assert judged.liveness is not None
    assert judged.liveness.failure is liveness.Failure.FROZEN


def test_following_the_face_through_a_burst_finds_the_detectors_landmarks(
        landmarks, photo) -> None:
    rng = np.random.default_rng(9)
    frames = [noisy(warped(photo("obama3"), i / 3), rng) for i in range(4)]
    followed = landmarks.burst_points(frames)
    for frame, points in zip(frames, followed, strict=True):
        detected = landmarks.points(frame)
        assert points is not None and detected is not None
        error = np.linalg.norm(points - detected, axis=1).mean()
        assert error < 0.05 * liveness.eye_distance(detected)


def test_a_burst_with_the_engines_detections_is_never_detected_again(engine, photo) -> None:
    """The engine's faces (``FrameResult.face``) seed the landmarks: the landmark backend's
    own detector is never loaded, and the points are those its detector would give."""
    fresh = TfliteLandmarks(MODELS)
    fresh.start()
    rng = np.random.default_rng(4)
    frames = [noisy(photo("obama3"), rng) for _ in range(3)]
    faces = [engine.check(frame).face for frame in frames]
    assert all(face is not None for face in faces)
    given = fresh.burst_points(frames, faces)
    assert fresh._detector is None  # noqa: SLF001 - the point of the test
    for frame, points in zip(frames, given, strict=True):
        detected = fresh.points(frame)
        assert points is not None and detected is not None
        assert np.linalg.norm(points - detected, axis=1).mean() < 0.05 * liveness.eye_distance(
            detected)


def test_a_frame_the_engine_found_no_face_in_has_no_landmarks(landmarks, photo) -> None:
    frame = photo("obama")
    assert landmarks.burst_points([frame], [None]) == [None]
