"""The committed int8 embedder against dlib's float network on the held-out faces of the wide set.

Issue 13: calibrated on the six sample photos alone, the int8 model fell to cosine 0.9975 on a
varied held-out face; calibrated on the wide set's calibration photos it stays above 0.999 on
every held-out face and every variation of it.
"""

import json

import numpy as np
import pytest

from models import face_set, manifest, wide_parity

ENTRY = json.loads(manifest.MANIFEST.read_text())["models"]["face_embedder"]
MODEL = manifest.MODELS_DIR / ENTRY["file"]
GOAL = 0.999
PER_FACE = 8


@pytest.fixture(scope="module")
def held_out(wide_faces: list[face_set.Face]) -> wide_parity.HeldOut:
    return wide_parity.held_out(per_face=PER_FACE, faces=wide_faces)


@pytest.fixture(scope="module")
def measured(held_out: wide_parity.HeldOut) -> dict[str, object]:
    return wide_parity.measure(MODEL.read_bytes(), ENTRY["normalisation"]["mean_rgb"],
                               ENTRY["threshold"], held_out)


def test_the_recorded_wide_parity_meets_the_goal_on_every_chip() -> None:
    wide = ENTRY["parity"]["wide_held_out"]
    assert wide["faces"] >= 6 and wide["photos"] >= 6 and wide["chips"] >= 100
    assert wide["all"]["cosine_min"] >= GOAL and wide["all"]["cosine_p1"] >= GOAL
    assert wide["clean_pairs"]["decisions_flipped"] == 0
    # A varied pair flips only where dlib's own distance is within the int8 error of the threshold.
    if wide["decisions_flipped"]:
        assert wide["flipped_max_margin"] <= wide["distance_abs_diff_max"]


def test_every_held_out_face_and_variation_agrees_with_dlib(measured: dict) -> None:
    assert measured["all"]["cosine_min"] >= GOAL
    assert measured["clean_pairs"]["decisions_flipped"] == 0


def test_the_clean_held_out_figures_are_reproduced(measured: dict) -> None:
    recorded = ENTRY["parity"]["wide_held_out"]["clean"]
    assert measured["clean"] == pytest.approx(recorded, abs=2e-4)


def test_the_held_out_set_is_what_the_manifest_says(held_out: wide_parity.HeldOut) -> None:
    wide = ENTRY["parity"]["wide_held_out"]
    assert len(held_out.clean) == wide["faces"]
    assert held_out.varied.shape[0] == PER_FACE * wide["faces"]
    assert np.isfinite(held_out.reference).all()
