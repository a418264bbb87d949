"""Quality gates: is this frame's face usable, and if not, which guidance code says why."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from firmware.core.settings import setting
from firmware.core.verdict import Guidance, Quality
from firmware.face.detector import Detection

# Rec. 601 luma weights: brightness and sharpness are judged on grey levels.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class GateSettings:
    """Thresholds of the quality gates (part of the face backend's config)."""

    min_face_px: float = setting(80.0, "smallest face box width in frame pixels")
    second_face_ratio: float = setting(
        0.5, "another face at least this fraction of the main face's width is a second person"
    )
    edge_margin: float = setting(0.0, "how far (fraction of face width) a face may leave the frame")
    max_yaw: float = setting(0.35, "largest nose offset from the eye midline, in eye distances")
    min_brightness: float = setting(50.0, "darkest acceptable mean grey level of the face (0-255)")
    max_brightness: float = setting(215.0, "brightest acceptable mean grey level of the face")
    min_sharpness: float = setting(
        15.0, "least variance of the Laplacian of the grey face chip (lower is blurrier)"
    )


def measure(faces: Sequence[Detection], face_chip: NDArray[np.uint8]) -> Quality:
    """Quality figures of the main (first) face and its aligned chip."""
    main = faces[0]
    # The face itself, not the padding around it: only that part is turned grey.
    inner = face_chip[20:-20, 20:-20].astype(np.float32) @ _LUMA
    return Quality(
        faces=len(faces),
        detector_score=round(main.score, 4),
        face_px=round(main.width, 1),
        brightness=round(_mean(inner), 1),
        sharpness=round(laplacian_variance(inner), 1),
        yaw=round(yaw(main.keypoints), 3),
    )


def _mean(values: NDArray[np.float32]) -> float:
    """``values.mean()`` without its Python wrapper: the same pairwise float32 sum over the
    count, as numpy's own mean computes it (the same float)."""
    return float(np.float32(np.add.reduce(values, axis=None) / values.size))


def laplacian_variance(grey: NDArray[np.float32]) -> float:
    """Variance of the 4-neighbour Laplacian: a standard, cheap focus measure.

    Summed in place, in the order the plain expression would add them, and the variance taken
    in place the way ``np.var`` takes it (mean, deviations, squares, mean: the same floats,
    with two temporaries where the plain code makes seven).
    """
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1]
    lap += grey[1:-1, :-2]
    lap += grey[1:-1, 2:]
    lap -= 4 * grey[1:-1, 1:-1]
    mean = np.add.reduce(lap, axis=None, keepdims=True)
    np.true_divide(mean, lap.size, out=mean, casting="unsafe")
    lap -= mean
    np.multiply(lap, lap, out=lap)
    return float(np.float32(np.add.reduce(lap, axis=None) / lap.size))


def yaw(keypoints: NDArray[np.floating]) -> float:
    """Signed nose-tip offset from the eyes' midpoint, along the eye line, in eye distances.

    About 0 for a frontal face; it grows as the head turns, whatever the roll or the scale.
    Three points: plain floats (numpy's per-call cost was most of the work).
    """
    (lx, ly), (rx, ry), (nx, ny) = np.asarray(keypoints[:3], dtype=np.float64).tolist()
    ax, ay = rx - lx, ry - ly
    distance = math.hypot(ax, ay)
    if distance < 1e-6:
        return 1.0
    return ((nx - (lx + rx) / 2) * ax + (ny - (ly + ry) / 2) * ay) / distance**2


def no_face_cause(frame: NDArray[np.uint8], gates: GateSettings) -> Guidance:
    """Why no face was found: a frame too dark or too bright to see one, or no face in view.

    An almost black frame finds no face; telling the wearer to "look at the camera" then is
    wrong, so the whole frame's mean grey level is judged by the face's brightness gates.
    """
    grey = float((frame[..., :3].astype(np.float32) @ _LUMA).mean())
    if grey < gates.min_brightness:
        return Guidance.TOO_DARK
    if grey > gates.max_brightness:
        return Guidance.TOO_BRIGHT
    return Guidance.NO_FACE


def first_failure(
    faces: Sequence[Detection], frame_shape: tuple[int, ...], quality: Quality | None,
    gates: GateSettings,
) -> Guidance | None:
    """The first gate this frame fails, or ``None`` when the face is usable."""
    if not faces:
        return Guidance.NO_FACE
    main = faces[0]
    if any(other.width >= gates.second_face_ratio * main.width for other in faces[1:]):
        return Guidance.MULTIPLE_FACES
    if main.width < gates.min_face_px:
        return Guidance.FACE_TOO_SMALL
    if _cut_off(main, frame_shape, gates.edge_margin):
        return Guidance.FACE_OFF_CENTRE
    if quality is None:
        return None
    checks = (
        (abs(quality.yaw) > gates.max_yaw, Guidance.HEAD_TURNED),
        (quality.brightness < gates.min_brightness, Guidance.TOO_DARK),
        (quality.brightness > gates.max_brightness, Guidance.TOO_BRIGHT),
        (quality.sharpness < gates.min_sharpness, Guidance.BLURRY),
    )
    return next((code for failed, code in checks if failed), None)


def _cut_off(face: Detection, frame_shape: tuple[int, ...], margin: float) -> bool:
    height, width = frame_shape[:2]
    slack = margin * face.width
    x0, y0, x1, y1 = face.box
    return x0 < -slack or y0 < -slack or x1 > width + slack or y1 > height + slack
