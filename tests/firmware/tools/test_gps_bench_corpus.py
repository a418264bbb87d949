"""The corpus bench runs the whole reader over every log and counts its accepted sentences."""

from pathlib import Path

import pytest

from firmware.tools import gps_bench, gps_bench_corpus


def test_every_log_is_read_and_its_sentences_counted(tmp_path: Path) -> None:
    (tmp_path / "a.nmea").write_bytes(gps_bench.synthetic_stream(40))
    (tmp_path / "b.nmea").write_bytes(gps_bench.synthetic_stream(24) + b"\xb5\x62garbage\r\n")
    result = gps_bench_corpus.run(tmp_path, repeats=2)
    assert result["logs"] == 2 and result["sentences"] == 64
    assert result["us_per_sentence"] > 0 and len(result["runs_us"]) == 2


def test_an_empty_folder_says_where_the_corpus_goes(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no NMEA logs in"):
        gps_bench_corpus.run(tmp_path)
