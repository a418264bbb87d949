"""Synthetic face-mesh landmark sequences for judging the liveness checks without live people.

A 3-D face (468 points in the MediaPipe face-mesh numbering, millimetres, on a curved surface
with a protruding nose, eyes with lids and cheeks at the indices the liveness module reads) is
posed in front of a pinhole camera and projected to frame pixels, with Gaussian landmark noise.
Bona fide sequences: a blink (eyelid points close and open) and a head turn (rotation about
the vertical axis). Attacks: the face's frontal projection as a flat picture (a print or a
screen) held still, or moved as one (rotated and shifted in 3-D, i.e. warped by a homography).

What this cannot show: how the landmark model's own noise, missed frames and the wearer's real
motion look on the unit's camera, and attacks it does not model (a video replay of the wearer
blinking, a 3-D mask). Those need captures of live people and attack instruments on a unit.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from firmware.face import liveness

Points = NDArray[np.float64]

FOCAL_PX = 800.0
CENTRE_PX = (768.0, 432.0)
DISTANCE_MM = 450.0
EYE_OPEN_MM = 5.0
EYE_CLOSED_MM = 0.5


@dataclass(frozen=True)
class Scene:
    """The camera and landmark-noise model for one sequence."""

    noise_px: float = 0.8
    distance_mm: float = DISTANCE_MM


def face_model(rng: np.random.Generator) -> Points:
    """A 468-point 3-D face (x right in the image, y down, z towards the camera negative)."""
    theta = rng.uniform(0, 2 * np.pi, liveness.MESH_POINTS)
    radius = np.sqrt(rng.uniform(0, 1, liveness.MESH_POINTS))
    x, y = 72 * radius * np.cos(theta), 100 * radius * np.sin(theta)
    points = np.c_[x, y, _surface(x, y)]
    for index, (px, py) in _fixed_points().items():
        points[index] = (px, py, _surface(np.array(px), np.array(py)))
    points[liveness.NOSE_TIP, 2] -= 28.0  # the nose stands out of the face
    return points


def _surface(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(-45.0 * np.clip(1 - (x / 80) ** 2 - (y / 110) ** 2, 0, None), np.float64)


def _fixed_points() -> dict[int, tuple[float, float]]:
    fixed = {liveness.NOSE_TIP: (0.0, 12.0), liveness.CHEEK_IMAGE_LEFT: (-70.0, 5.0),
             liveness.CHEEK_IMAGE_RIGHT: (70.0, 5.0)}
    for eye, centre in ((liveness.RIGHT_EYE, -32.0), (liveness.LEFT_EYE, 32.0)):
        # Each eye's tuple runs from its image-left corner to its image-right corner.
        corner_a, up_a, up_b, corner_b, low_b, low_a = eye
        fixed[corner_a], fixed[corner_b] = (centre - 13, -20.0), (centre + 13, -20.0)
        for upper, lower, x in ((up_a, low_a, centre - 5), (up_b, low_b, centre + 5)):
            fixed[upper], fixed[lower] = (x, -20.0 - EYE_OPEN_MM), (x, -20.0 + EYE_OPEN_MM)
    return fixed


def with_eyes(face: Points, opening_mm: float) -> Points:
    """The face with both eyelids at ``opening_mm`` from the eye line (open: 5, shut: ~0)."""
    moved = face.copy()
    for _, up_a, up_b, _, low_b, low_a in (liveness.RIGHT_EYE, liveness.LEFT_EYE):
        for upper, lower in ((up_a, low_a), (up_b, low_b)):
            moved[upper, 1] = -20.0 - opening_mm
            moved[lower, 1] = -20.0 + opening_mm
    return moved


def rotate_y(points: Points, degrees: float) -> Points:
    """Rotate about the vertical axis; positive turns the face to the wearer's own left."""
    a = np.radians(-degrees)
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return np.asarray(points @ r.T, np.float64)


def project(points: Points, scene: Scene, rng: np.random.Generator,
            shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Points:
    """Pinhole projection to frame pixels, with the landmark model's noise."""
    cam = points + np.array([shift_mm[0], shift_mm[1], scene.distance_mm + shift_mm[2]])
    uv = FOCAL_PX * cam[:, :2] / cam[:, 2:3] + np.array(CENTRE_PX)
    return np.asarray(uv + rng.normal(0.0, scene.noise_px, uv.shape), np.float64)


def blink(rng: np.random.Generator, frames: int = 8, scene: Scene = Scene()) -> list[Points]:
    """A live blink: eyes open, shut over one to three frames mid-burst, open again."""
    face = face_model(rng)
    start = int(rng.integers(1, frames - 3))
    shut = set(range(start, start + int(rng.integers(1, 3))))
    sway = rng.normal(0, 1.0, 3)
    return [project(with_eyes(face, EYE_CLOSED_MM if i in shut else EYE_OPEN_MM), scene, rng,
                    tuple(sway * i / frames)) for i in range(frames)]


def turn(rng: np.random.Generator, to_left: bool, frames: int = 8,
         scene: Scene = Scene()) -> list[Points]:
    """A live head turn from facing the camera to 20-35 degrees the asked way."""
    face = face_model(rng)
    peak = rng.uniform(20, 35) * (1 if to_left else -1)
    return [project(rotate_y(face, peak * min(1.0, i / (frames * 0.6))), scene, rng)
            for i in range(frames)]


def flat_picture(rng: np.random.Generator, frames: int = 8, moved: bool = True,
                 scene: Scene = Scene()) -> list[Points]:
    """A print or screen of the face: its frontal view on a plane, still or moved as one
    (tilted and turned up to 30 degrees, shifted a few centimetres: a homography)."""
    face = face_model(rng)
    flat = face.copy()
    flat[:, 2] = 0.0  # the picture: the frontal projection, lying on one plane
    flat[:, :2] = face[:, :2] * scene.distance_mm / (scene.distance_mm + face[:, 2:3])
    yaw, pitch = (rng.uniform(-30, 30, 2) if moved else (0.0, 0.0))
    shift = rng.uniform(-30, 30, 3) if moved else np.zeros(3)
    out = []
    for i in range(frames):
        k = i / max(1, frames - 1)
        posed = _rotate_x(rotate_y(flat, yaw * k), pitch * k)
        out.append(project(posed, scene, rng, tuple(shift * k)))
    return out


def _rotate_x(points: Points, degrees: float) -> Points:
    a = np.radians(degrees)
    r = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return np.asarray(points @ r.T, np.float64)
