"""`face eval` figures: decisions refused by row, Wilson intervals, FTA, small-group warnings."""

import io
import json
from pathlib import Path

import pytest

from firmware.errors import VerifyError
from firmware.tools import face_eval as evaluation
from firmware.tools.face_eval import PairScore
from firmware.tools.progress import Progress


def test_wilson_matches_the_published_values() -> None:
    # Newcombe (1998), table I: 0/10 -> 0.0000-0.2775; 1/29 -> 0.0061-0.1718.
    low, high = evaluation.wilson(0, 10) or (None, None)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = evaluation.wilson(1, 29) or (None, None)
    assert low == pytest.approx(0.0061, abs=1e-4) and high == pytest.approx(0.1718, abs=1e-4)
    assert evaluation.wilson(0, 0) is None


@pytest.mark.parametrize("text", ["maybe", "", "yes please", "2"])
def test_an_unknown_decision_is_an_error_naming_where(text: str) -> None:
    with pytest.raises(VerifyError, match="pairs.csv line 4: decision"):
        evaluation.parse_decision(text, "pairs.csv line 4")


@pytest.mark.parametrize(("text", "same"), [("Yes", True), (" same ", True), ("1", True),
                                            ("No", False), ("different", False), ("0", False)])
def test_known_decisions(text: str, same: bool) -> None:
    assert evaluation.parse_decision(text, "x") is same


def _scores() -> list[PairScore]:
    genuine = [PairScore(f"g{i}a", f"g{i}b", True, 0.2 + 0.01 * i) for i in range(40)]
    genuine[0] = PairScore("g0a", "g0b", True, 0.95)  # one false non-match at 0.9
    impostor = [PairScore(f"i{i}a", f"i{i}b", False, 1.2) for i in range(35)]
    bad = PairScore("u1", "g1a", True, None, unusable_files=("u1",))
    return [*genuine, *impostor, bad]


def test_figures_carry_intervals_fta_and_count_like_the_plot_title() -> None:
    result = evaluation.figures(_scores(), 0.9)
    assert (result.pairs, result.unusable, result.genuine, result.impostor) == (75, 1, 40, 35)
    assert result.fnmr == pytest.approx(1 / 40)
    assert result.fnmr_ci95 == evaluation.wilson(1, 40)
    assert result.fmr == 0.0 and result.fmr_ci95 == evaluation.wilson(0, 35)
    assert result.images == 151 and result.fta == pytest.approx(1 / 151)
    assert result.warnings == ()
    title = evaluation.plot_title(result, 0.9)
    assert "75 usable pairs (1 unusable)" in title
    report = json.loads(json.dumps(result.__dict__))
    assert f"{report['pairs']} usable pairs ({report['unusable']} unusable)" in title


def test_a_small_group_is_warned_about() -> None:
    few = [PairScore("a", "b", True, 0.2), PairScore("a", "c", False, 1.3)]
    warnings = evaluation.figures(few, 0.9).warnings
    assert len(warnings) == 2
    assert "only 1 usable genuine pair(s)" in warnings[0] and "FNMR" in warnings[0]
    assert "FMR could be as high as 95%" in warnings[1] and "at least 30" in warnings[1]
    none = evaluation.figures([PairScore("a", "b", True, None, unusable_files=("a", "b"))], 0.9)
    assert none.fta == 1.0 and "no usable genuine pairs" in none.warnings[0]


def test_cli_refuses_an_unknown_decision_before_loading_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from firmware.cli import face

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("file_x,file_y,decision\na.jpg,b.jpg,yes\na.jpg,c.jpg,perhaps\n")
    assert face.main(["eval", "--pairs", str(pairs), "--images", str(tmp_path),
                      "--models", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "pairs.csv line 3: decision 'perhaps' is neither same nor different" in err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    times = iter([0.0, 0.05, 0.5, 0.6])
    tty = _Tty()
    bar = Progress(4, "pairs", stream=tty, clock=lambda: next(times))
    for done in range(1, 5):
        bar.update(done)
    bar.close()
    frames = tty.getvalue().split("\r")[1:]
    assert [f.split()[-1] for f in frames] == ["1/4", "3/4", "4/4"]  # 2/4 came too soon
    assert tty.getvalue().endswith("]  4/4\n")
    piped = io.StringIO()
    quiet = Progress(4, "pairs", stream=piped)
    quiet.update(4)
    quiet.close()
    assert piped.getvalue() == ""
