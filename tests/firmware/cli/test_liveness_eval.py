"""``fieldcheck-device face liveness-eval``: APCER and BPCER rows, as a table or JSON."""

import json

import pytest

from firmware import cli
from firmware.tools.liveness_eval import Row


def test_the_json_rows_name_each_rate_by_its_iso_term(capsys) -> None:
    assert cli.main(["face", "liveness-eval", "--trials", "4", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = {(r["kind"], r["name"]) for r in rows}
    assert ("bona_fide", "blink") in names and ("attack", "print_moved_as_one") in names
    for row in rows:
        assert row["trials"] == 4
        assert ("bpcer" in row) == (row["kind"] == "bona_fide")
        assert ("apcer" in row) == (row["kind"] == "attack")


def test_the_table_says_what_it_cannot_measure(capsys) -> None:
    assert cli.main(["face", "liveness-eval", "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "APCER" in out and "BPCER" in out and "live people" in out


def test_zero_trials_is_a_clear_error(capsys) -> None:
    assert cli.main(["face", "liveness-eval", "--trials", "0"]) != 0
    assert "--trials" in capsys.readouterr().err


@pytest.mark.parametrize(("kind", "refused", "rate"), [("bona_fide", 1, 0.25),
                                                       ("attack", 1, 0.75)])
def test_a_rows_rate_is_bpcer_for_bona_fide_and_apcer_for_attacks(kind, refused, rate) -> None:
    assert Row(kind, "x", 0.8, 4, refused).error_rate == rate
