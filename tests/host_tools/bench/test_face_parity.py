"""The face-parity bench section turns models.wide_parity's JSON into table rows."""

from typing import Any

import pytest

from host_tools.bench import benchmarks, face_parity

FIGURES: dict[str, Any] = {
    "faces": 6, "photos": 6, "chips": 150,
    "all": {"cosine_min": 0.9991, "cosine_p1": 0.9992, "cosine_mean": 0.9995},
    "clean": {"cosine_min": 0.9993, "cosine_p1": 0.9994, "cosine_mean": 0.9996},
    "pairs": 11175, "pairs_within_error": 111, "decisions_flipped": 7,
    "clean_pairs": {"pairs": 15, "decisions_flipped": 0},
}


def test_rows_report_min_p1_mean_and_flips(monkeypatch: pytest.MonkeyPatch) -> None:
    argvs = []

    def fake_run_json(argv: list[str], timeout: float = 900) -> dict[str, Any]:
        assert timeout >= 900  # dlib on every held-out chip takes minutes
        argvs.append(argv)
        return FIGURES

    monkeypatch.setattr(face_parity, "run_json", fake_run_json)
    rows = face_parity.face_parity(quick=True)
    assert argvs[0][-3:] == ["models.wide_parity", "--per-face", "4"]
    # Cosines as 1 - cosine in ppm, so the table's four digits still tell 0.99895 from 0.999.
    assert [r.ours for r in rows] == pytest.approx([900, 800, 500, 7, 0, 700, 600, 400])
    assert rows[0].unit == "ppm" and rows[0].target == "<= 1000"
    assert all(r.section == "face-parity" for r in rows)
    assert "6 held-out faces of 6 photos" in rows[0].figure
    assert "clean chips" in rows[5].figure and rows[5].better == "lower"
    assert "face-parity" in benchmarks.SECTIONS
