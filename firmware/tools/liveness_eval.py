"""APCER and BPCER (ISO/IEC 30107-3) of the liveness checks on synthetic landmark sequences.

Bona fide presentations: a live blink, a live turn to the left and to the right, each judged
against the challenge it answers. Attack presentations, one row per presentation attack
instrument (PAI) species: a flat picture (print or screen) held still, and moved as one
(a homography), each against every challenge. APCER of a species is the share of its attacks
accepted; BPCER the share of bona fide presentations refused. Each row is also run at a
higher landmark noise, to show how the figures depend on it.

What this measures is the decision rules on modelled landmarks, not the unit: the real
landmark model's noise on live people, misses, and the wearer's own motion need captures of
live people on a unit (see ``firmware.tools.face_mesh_sim``).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firmware.face import liveness
from firmware.face.liveness import Challenge, LivenessSettings, Points
from firmware.tools import face_mesh_sim as sim

Maker = Callable[[np.random.Generator, sim.Scene], list[Points]]


@dataclass(frozen=True)
class Row:
    """One kind of presentation: how many were judged and how many were refused."""

    kind: str  # "bona_fide" or "attack"
    name: str
    noise_px: float
    trials: int
    refused: int

    @property
    def error_rate(self) -> float:
        """BPCER (refused share) for bona fide rows, APCER (accepted share) for attack rows."""
        wrong = self.refused if self.kind == "bona_fide" else self.trials - self.refused
        return wrong / self.trials if self.trials else 0.0

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly fields, with the error rate under its ISO/IEC 30107-3 name."""
        metric = "bpcer" if self.kind == "bona_fide" else "apcer"
        return {"kind": self.kind, "name": self.name, "noise_px": self.noise_px,
                "trials": self.trials, "refused": self.refused,
                metric: round(self.error_rate, 4)}


def _bona_fide() -> dict[str, tuple[Challenge, Maker]]:
    return {
        "blink": (Challenge.BLINK, lambda rng, scene: sim.blink(rng, scene=scene)),
        "turn_left": (Challenge.TURN_LEFT, lambda rng, scene: sim.turn(rng, True, scene=scene)),
        "turn_right": (Challenge.TURN_RIGHT,
                       lambda rng, scene: sim.turn(rng, False, scene=scene)),
    }


def _attacks() -> dict[str, Maker]:
    return {
        "print_still": lambda rng, scene: sim.flat_picture(rng, moved=False, scene=scene),
        "print_moved_as_one": lambda rng, scene: sim.flat_picture(rng, moved=True, scene=scene),
    }


def evaluate(trials: int = 200, noise_levels: tuple[float, ...] = (0.8, 1.6, 3.2),
             settings: LivenessSettings | None = None, seed: int = 0) -> list[Row]:
    """Judge ``trials`` presentations of every kind at every noise level."""
    settings = settings or LivenessSettings()
    rng = np.random.default_rng(seed)
    rows = []
    for noise in noise_levels:
        scene = sim.Scene(noise_px=noise)
        for name, (challenge, make) in _bona_fide().items():
            refused = sum(not liveness.judge(challenge, make(rng, scene), [], settings).passed
                          for _ in range(trials))
            rows.append(Row("bona_fide", name, noise, trials, refused))
        for name, make in _attacks().items():
            refused = 0
            for i in range(trials):
                challenge = list(Challenge)[i % len(Challenge)]
                refused += not liveness.judge(challenge, make(rng, scene), [], settings).passed
            rows.append(Row("attack", name, noise, trials, refused))
    return rows
