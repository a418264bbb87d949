"""Presentation-attack checks on a burst: a randomised challenge and passive checks.

The challenge (blink, or turn the head to the wearer's own left or right) is judged on face
landmark sequences (468-point MediaPipe face mesh, frame pixels): the eye aspect ratio over
time for a blink, the nose's offset between the cheeks for a turn. The passive checks run on
every burst: the frames are not one frame repeated, one identity is seen throughout (embedding
agreement), and the landmarks do not all fit one homography from the first frame (a print or a
screen moved as one fits it; a face that blinks or turns does not).

Directions: the camera image is not mirrored, so the wearer's own left is the image's right.
A failed check is a fact for human review, never an alarm.
"""

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from firmware.core.settings import setting
from firmware.face import picture

logger = logging.getLogger(__name__)

Points = NDArray[np.float64]
Vector = NDArray[np.float32]

#: Face-mesh indices: each eye's (corner, upper, upper, corner, lower, lower) points.
RIGHT_EYE = (33, 160, 158, 133, 153, 144)  # the wearer's right eye (image left)
LEFT_EYE = (362, 385, 387, 263, 373, 380)
NOSE_TIP = 1
CHEEK_IMAGE_LEFT, CHEEK_IMAGE_RIGHT = 234, 454
EYE_OUTER = (33, 263)
MESH_POINTS = 468

ChallengeName = Literal["blink", "turn_left", "turn_right"]


class Challenge(StrEnum):
    """What the wearer is asked to do while the burst is captured."""

    BLINK = "blink"
    TURN_LEFT = "turn_left"  # the wearer's own left
    TURN_RIGHT = "turn_right"


class Failure(StrEnum):
    """Why a burst was refused as not live (recorded as ``liveness_reason``)."""

    FROZEN = "frozen_burst"  # identical frames, or capture times that do not advance
    TOO_FEW_FACES = "too_few_faces"  # too few frames with face landmarks to judge
    IDENTITY_CHANGED = "identity_changed"  # the frames do not show one person
    MOVED_AS_ONE = "moved_as_one"  # the landmarks fit one homography: a flat picture
    CHALLENGE_NOT_MET = "challenge_not_met"


@dataclass(frozen=True)
class LivenessSettings:
    """The ``[checkin.liveness]`` section: the challenge and the passive checks' limits."""

    enabled: bool = setting(True, "refuse photo and screen attacks (challenge + passive checks)")
    frames: int = setting(8, "frames captured per try while liveness is on (replaces "
                          "burst_frames: a blink or a turn needs about a second)")
    lead_s: float = setting(1.0, "seconds the challenge is shown before the capture starts")
    challenges: tuple[ChallengeName, ...] = setting(
        ("blink", "turn_left", "turn_right"), "challenges drawn at random, one per try")
    min_frame_change: float = setting(
        0.5, "least mean absolute grey difference between consecutive frames (0-255)")
    min_faces: int = setting(4, "least frames with face landmarks to judge a burst")
    min_eye_closure: float = setting(
        0.35, "blink: least drop of the eye aspect ratio from its open level, as a fraction")
    min_turn: float = setting(
        0.2, "turn: least change of the nose offset between the cheeks (-1..1) the asked way")
    min_nonrigid: float = setting(
        0.03, "least residual (eye distances, mean of the 6 worst points) after fitting one "
              "homography to the landmarks; a flat picture moved as one stays below it")
    max_identity_spread: float = setting(
        0.5, "largest embedding distance of any frame from the burst's mean embedding "
             "(below the match threshold: one person throughout)")


@dataclass(frozen=True)
class LivenessResult:
    """The checks' conclusion on one burst, with the figures behind it (no images)."""

    challenge: Challenge
    failure: Failure | None
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return self.failure is None


def choose(allowed: Sequence[str], draw: int | None = None) -> Challenge:
    """A challenge drawn uniformly (``secrets``: not predictable from earlier ones)."""
    names = [Challenge(name) for name in allowed] or list(Challenge)
    return names[secrets.randbelow(len(names)) if draw is None else draw % len(names)]


def frozen(frames: Sequence[NDArray[np.uint8]], captured: Sequence[float],
           min_change: float) -> bool:
    """Whether the burst is one frame repeated, or its capture times do not advance.

    One frame repeated: no two consecutive frames differ by ``min_change`` (mean absolute
    difference per pixel byte). A burst is live as soon as one pair differs that much, so
    the pairs are compared in turn until one does (a live burst costs part of its first pair).
    """
    if any(later <= earlier for earlier, later in zip(captured, captured[1:], strict=False)):
        return True
    if len(frames) < 2:
        return False
    pairs = zip(frames, frames[1:], strict=False)
    return not any(changed(a, b, min_change) for a, b in pairs)


def changed(a: NDArray[np.uint8], b: NDArray[np.uint8], least: float, band: int = 32) -> bool:
    """Whether the mean absolute difference of two frames' colour bytes is at least ``least``.

    Summed exactly in bands of ``band`` rows (small enough to stay in the CPU cache, and no
    full-frame temporaries: a 3 MP burst's frames would cost 80 MB of them), stopping as soon
    as the sum so far reaches ``least`` times the number of colour bytes: the sum only grows,
    so the answer is the one the whole frame's mean gives. Two C-contiguous RGBX frames (the
    camera's) are read whole, their rows contiguous, and the fourth byte (which never moves)
    masked out of the sum; a strided RGB view of them cost 10 times as much.
    """
    if a.shape != b.shape or a.size == 0:
        return True
    rgbx = picture.is_mapped(a) and picture.is_mapped(b)
    if not rgbx:
        a, b = picture.rgb(a), picture.rgb(b)
    colours = a.size // 4 * 3 if rgbx else a.size
    high = np.empty((min(band, a.shape[0]), *a.shape[1:]), np.uint8)
    low = np.empty_like(high)
    total = 0
    for top in range(0, a.shape[0], band):
        rows_a, rows_b = a[top:top + band], b[top:top + band]
        diff, other = high[:len(rows_a)], low[:len(rows_a)]
        # |a - b| in uint8 as max - min (a signed difference would need int16 copies).
        np.maximum(rows_a, rows_b, out=diff)
        np.minimum(rows_a, rows_b, out=other)
        np.subtract(diff, other, out=diff)
        total += byte_sum(diff, skip_fourth=rgbx)
        if total / colours >= least:
            return True
    return False


_COLOUR_BYTES = np.frombuffer(bytes((255, 255, 255, 0)), np.uint32)[0]  # of an RGBX word
_LANE_WORDS = 128  # 16-bit lanes of byte pairs (each <= 510) hold 128 of them: <= 65280


def byte_sum(scratch: NDArray[np.uint8], skip_fourth: bool = False) -> int:
    """The exact sum of a C-contiguous array's bytes (every fourth byte left out when
    ``skip_fourth``, as an RGBX array's), overwriting the array.

    numpy sums uint8 into uint64 one byte at a time; here the bytes are read as 32-bit words,
    each word's two byte pairs added into two 16-bit lanes (``(w & 0x00FF00FF) + ((w >> 8) &
    0x00FF00FF)``: every byte once, whatever the byte order), and 128 words' lanes added row
    by row before the lanes are split: all in native 32-bit arithmetic, about 1.6 times as fast.
    """
    flat = scratch.reshape(-1)
    whole = flat.size // 4 * 4
    words = flat[:whole].view(np.uint32)
    if skip_fourth:
        np.bitwise_and(words, _COLOUR_BYTES, out=words)
    pairs, odd = picture.byte_pairs(words)
    pairs += odd
    rows = len(pairs) // _LANE_WORDS * _LANE_WORDS
    lanes = np.append(pairs[:rows].reshape(_LANE_WORDS, -1).sum(axis=0, dtype=np.uint32),
                      pairs[rows:])
    left_over = int(flat[whole:].sum(dtype=np.uint64))  # fewer than 4 bytes
    return (int((lanes & 0xFFFF).sum(dtype=np.uint64))
            + int((lanes >> 16).sum(dtype=np.uint64)) + left_over)


def eye_aspect_ratio(points: Points) -> float:
    """Mean eye aspect ratio of both eyes (eyelid gap over eye width; about 0 when closed)."""
    return float(eye_aspect_ratios(points[None])[0])


#: Per eye (right, left): the index pairs of its width and of its two eyelid gaps.
_EYE_WIDTHS = np.array([[eye[0], eye[3]] for eye in (RIGHT_EYE, LEFT_EYE)])
_EYE_GAPS = np.array([[[eye[1], eye[5]], [eye[2], eye[4]]] for eye in (RIGHT_EYE, LEFT_EYE)])


def eye_aspect_ratios(tracks: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`eye_aspect_ratio` of every frame of a (frames, points, 2) stack at once."""
    width = _lengths(tracks, _EYE_WIDTHS)  # frames x eyes
    gaps = _lengths(tracks, _EYE_GAPS)  # frames x eyes x 2
    gap = gaps[..., 0] + gaps[..., 1]
    safe = np.where(width > 1e-6, width, 1.0)
    ratios = np.where(width > 1e-6, gap / (2.0 * safe), 0.0)
    return np.asarray((ratios[:, 0] + ratios[:, 1]) / 2.0, np.float64)


def _lengths(tracks: NDArray[np.float64], pairs: NDArray[np.int_]) -> NDArray[np.float64]:
    """Per frame, the distance between the points of each index pair (pairs' shape x 2), as
    ``np.linalg.norm`` gives it for one (the square root of a dot product: a matrix product
    gives its very bits, a sum of squares can differ in the last one)."""
    step = tracks[:, pairs[..., 0]] - tracks[:, pairs[..., 1]]
    return np.asarray(np.sqrt((step[..., None, :] @ step[..., :, None])[..., 0, 0]))


def yaw_ratio(points: Points) -> float:
    """The nose tip's offset from the cheeks' midpoint, along the cheek line, -1..1.

    About 0 facing the camera; it grows as the wearer turns to their own left (the nose moves
    to the image's right) and falls as they turn right.
    """
    left, right = points[CHEEK_IMAGE_LEFT], points[CHEEK_IMAGE_RIGHT]
    axis = right - left
    length2 = float(axis @ axis)
    if length2 < 1e-9:
        return 0.0
    return float(2.0 * (points[NOSE_TIP] - (left + right) / 2.0) @ axis / length2)


def eye_distance(points: Points) -> float:
    """Distance between the outer eye corners, the unit of the rigidity residual."""
    return float(np.linalg.norm(points[EYE_OUTER[0]] - points[EYE_OUTER[1]]))


def fit_homography(src: Points, dst: Points) -> NDArray[np.float64]:
    """The 3x3 homography taking ``src`` to ``dst`` (normalised DLT, least squares)."""
    return np.asarray(fit_homographies(src, dst[None])[0], np.float64)


def fit_homographies(src: Points, dsts: NDArray[np.float64]) -> NDArray[np.float64]:
    """The homographies taking ``src`` to each of ``dsts`` (frames x points x 2), as
    frames x 3 x 3: normalised DLT, least squares, all frames at once.

    The least-squares DLT solution is the eigenvector of AᵀA with the least eigenvalue (the
    last right singular vector of A). AᵀA is 9 x 9 and built from the points' moments
    (``_normal_matrices``) without forming the 2N x 9 matrix A, so a burst costs one batched
    9 x 9 eigen-decomposition instead of an SVD of frames x 936 x 9 (Hartley's normalisation
    keeps AᵀA well conditioned).
    """
    t_src = _normaliser(src)
    a = _apply(t_src, src)
    centres = dsts.mean(axis=1, keepdims=True)
    spreads = np.sqrt(((dsts - centres) ** 2).sum(axis=2).mean(axis=1))
    scales = np.sqrt(2.0) / np.where(spreads > 0, spreads, 1.0)
    b = (dsts - centres) * scales[:, None, None]
    frames = dsts.shape[0]
    _, vectors = np.linalg.eigh(_normal_matrices(a, b))
    h = vectors[:, :, 0].reshape(frames, 3, 3)
    # inv(t_dst) per frame: undo the scale, then the centring.
    inverse = np.zeros((frames, 3, 3))
    inverse[:, 0, 0] = inverse[:, 1, 1] = 1.0 / scales
    inverse[:, :2, 2] = centres[:, 0, :]
    inverse[:, 2, 2] = 1.0
    full = inverse @ h @ t_src
    corner = full[:, 2:3, 2:3]
    return np.asarray(full / np.where(np.abs(corner) > 1e-12, corner, 1.0), np.float64)


def _normal_matrices(src: Points, dsts: NDArray[np.float64]) -> NDArray[np.float64]:
    """AᵀA of the DLT per frame, from moments: with p = (x, y, 1) of a source point and
    (u, v) its image, A's rows are (-p, 0, u p) and (0, -p, v p), so AᵀA's 3 x 3 blocks
    are S(1), 0, -S(u) / 0, S(1), -S(v) / -S(u), -S(v), S(u² + v²), with S(w) = Σ w p pᵀ."""
    p = _homogeneous(src)
    outer = (p[:, :, None] * p[:, None, :]).reshape(len(p), 9)
    u, v = dsts[..., 0], dsts[..., 1]
    weights = np.stack([np.ones_like(u), u, v, u * u + v * v], axis=1)  # frames x 4 x N
    s1, su, sv, suv = (weights @ outer).reshape(len(dsts), 4, 3, 3).transpose(1, 0, 2, 3)
    normal = np.zeros((len(dsts), 9, 9))
    normal[:, 0:3, 0:3] = normal[:, 3:6, 3:6] = s1
    normal[:, 0:3, 6:9] = normal[:, 6:9, 0:3] = -su
    normal[:, 3:6, 6:9] = normal[:, 6:9, 3:6] = -sv
    normal[:, 6:9, 6:9] = suv
    return normal


def _normaliser(points: Points) -> NDArray[np.float64]:
    centre = points.mean(axis=0)
    spread = float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean())) or 1.0
    scale = np.sqrt(2.0) / spread
    return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]])


def _homogeneous(points: Points) -> NDArray[np.float64]:
    """The points as rows (x, y, 1)."""
    rows = np.ones((len(points), 3))
    rows[:, :2] = points
    return rows


def _apply(h: NDArray[np.float64], points: Points) -> Points:
    moved = _homogeneous(points) @ h.T
    return np.asarray(moved[:, :2] / moved[:, 2:3], np.float64)


def rigid_residual(tracks: Sequence[Points], worst: int = 6) -> float:
    """How far the landmarks are from moving as one plane: the largest, over the frames, of
    the mean of the ``worst`` point residuals after one homography from the first frame, in
    eye distances. A flat picture moved, tilted or bent little stays near the landmark noise.

    All frames are fitted at once (one batched SVD, one batched projection)."""
    first = tracks[0]
    if len(tracks) < 2:
        return 0.0
    unit = eye_distance(first) or 1.0
    later = np.stack(tracks[1:])
    hs = fit_homographies(first, later)
    moved = _homogeneous(first) @ hs.transpose(0, 2, 1)
    errors = np.linalg.norm(moved[..., :2] / moved[..., 2:3] - later, axis=2)
    worst_errors = np.partition(errors, errors.shape[1] - worst, axis=1)[:, -worst:]
    return float(worst_errors.mean(axis=1).max()) / unit


def identity_spread(embeddings: Sequence[Vector]) -> float:
    """The largest distance of any embedding from the burst's mean (0 for one frame)."""
    if len(embeddings) < 2:
        return 0.0
    stack = np.stack(embeddings).astype(np.float64)
    return float(np.linalg.norm(stack - stack.mean(axis=0), axis=1).max())


def challenge_met(challenge: Challenge, tracks: Sequence[Points],
                  settings: LivenessSettings) -> tuple[bool, dict[str, float]]:
    """Whether the landmark sequence shows the challenge, and the figure that says so."""
    if challenge is Challenge.BLINK:
        ratios = eye_aspect_ratios(np.stack(tracks)).tolist()
        opened = max(ratios)
        closure = 1.0 - min(ratios) / opened if opened > 1e-6 else 0.0
        # Open, then closed, then open again: the closed frame is neither first nor last.
        inside = 0 < int(np.argmin(ratios)) < len(ratios) - 1
        return closure >= settings.min_eye_closure and inside, {"eye_closure": round(closure, 3)}
    yaws = np.asarray([yaw_ratio(points) for points in tracks])
    sign = 1.0 if challenge is Challenge.TURN_LEFT else -1.0
    turn = float((sign * (yaws - yaws[0])).max())
    return turn >= settings.min_turn, {"turn": round(turn, 3)}


def judge(challenge: Challenge, tracks: Sequence[Points | None], embeddings: Sequence[Vector],
          settings: LivenessSettings) -> LivenessResult:
    """The passive checks and the challenge on a burst's landmarks and embeddings.

    ``tracks`` has one entry per frame (None: no landmarks on it); ``embeddings`` are those
    of the frames that passed the quality gates. Frozen bursts are refused before this.
    """
    seen = [points for points in tracks if points is not None]
    figures: dict[str, float] = {"faces": float(len(seen))}
    if len(seen) < max(2, settings.min_faces):
        return LivenessResult(challenge, Failure.TOO_FEW_FACES, figures)
    spread = identity_spread(embeddings)
    figures["identity_spread"] = round(spread, 3)
    if spread > settings.max_identity_spread:
        return LivenessResult(challenge, Failure.IDENTITY_CHANGED, figures)
    residual = rigid_residual(seen)
    figures["nonrigid"] = round(residual, 4)
    met, shown = challenge_met(challenge, seen, settings)
    figures.update(shown)
    if residual < settings.min_nonrigid:
        return LivenessResult(challenge, Failure.MOVED_AS_ONE, figures)
    if not met:
        return LivenessResult(challenge, Failure.CHALLENGE_NOT_MET, figures)
    return LivenessResult(challenge, None, figures)
