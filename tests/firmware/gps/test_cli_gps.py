"""``fieldcheck-device gps inspect|bench`` on a written log and a real pty."""

import argparse
import json
from pathlib import Path

import pytest

from firmware.cli import gps
from firmware.core.nmea import build_sentence
from firmware.errors import GpsError


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    gps.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def write_log(tmp_path: Path) -> Path:
    lines = [
        "GPRMC,120000.00,A,4807.038,N,01131.000,E,0.5,84.4,241126,,,A",
        "GPGGA,120000.00,4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,",
        "GPRMC,120001.00,A,4807.038,N,01131.000,E,0.5,84.4,200307,,,A",  # week rollover
        "GPGGA,120001.00,4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,",
    ]
    data = "".join(build_sentence(b) for b in lines).encode()
    data += b"\xb5\x62\x01\x07garbage\r\n$GPGGA,120002,,,,,0,00,,,M,,M,,\r\n"  # no checksum
    path = tmp_path / "unit.nmea"
    path.write_bytes(data)
    return path


def test_inspect_prints_fix_lines_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["gps", "inspect", str(write_log(tmp_path))]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fixes, summary = rows[:-1], rows[-1]["summary"]
    assert len(fixes) == 2
    assert fixes[0]["flags"] == [] and fixes[0]["fix"] == "3d"
    assert fixes[1]["flags"] == ["before_build"]  # flagged, still printed
    assert summary["sentences_ok"] == 4 and summary["epochs"] == 2
    assert summary["rejected"] == {"garbage": 1, "checksum_missing": 1}
    assert summary["fixes_by_type"] == {"3d": 2} and summary["flagged"] == {"before_build": 1}


def test_inspect_can_accept_missing_checksums(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_log(tmp_path)
    assert run_cli(["gps", "inspect", "--summary-only", "--allow-missing-checksum", str(path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    summary = json.loads(line)["summary"]
    assert summary["sentences_ok"] == 5 and summary["epochs"] == 3
    assert summary["rejected"] == {"garbage": 1}


def test_inspect_missing_file_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(GpsError, match="no log file"):
        run_cli(["gps", "inspect", str(tmp_path / "nope.nmea")])


def test_bench_measures_both_paths_on_a_pty(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["gps", "bench", "--sentences", "400"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["chunked_sentences"] == result["readline_sentences"] == 400
    assert result["chunked_us_per_sentence"] > 0 and result["readline_us_per_sentence"] > 0
    expected = result["readline_us_per_sentence"] / result["chunked_us_per_sentence"]
    assert result["ratio_readline_over_chunked"] == pytest.approx(expected, rel=0.01)


def test_inspect_backfills_dates_of_gga_only_epochs_before_the_first_rmc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gga = "GPGGA,{}.00,4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,"
    lines = [gga.format("235958"), gga.format("235959"), gga.format("000000")]
    lines += ["GPRMC,000001.00,A,4807.038,N,01131.000,E,0.5,84.4,251126,,,A", gga.format("000001")]
    lines += [gga.format("000002")]
    path = tmp_path / "gga-first.nmea"
    path.write_bytes("".join(build_sentence(b) for b in lines).encode())
    assert run_cli(["gps", "inspect", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fixes, summary = rows[:-1], rows[-1]["summary"]
    assert [(f["utc"], f["date_source"]) for f in fixes] == [
        ("2026-11-24T23:59:58+00:00", "backfill"),
        ("2026-11-24T23:59:59+00:00", "backfill"),
        ("2026-11-25T00:00:00+00:00", "backfill"),
        ("2026-11-25T00:00:01+00:00", "gps"),
        ("2026-11-25T00:00:02+00:00", "carried"),
    ]
    assert summary["dates_by_source"] == {"backfill": 3, "carried": 1, "gps": 1}


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 40, b"\xff\xd8\xff\xe0JFIF\x00" * 50])
def test_inspect_says_when_a_file_holds_no_nmea(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "not.nmea"
    path.write_bytes(content)
    assert run_cli(["gps", "inspect", "--summary-only", "--format", "json", str(path)]) == 1
    out = capsys.readouterr()
    summary = json.loads(out.out)["summary"]
    assert summary["notes"] and summary["notes"][0].startswith("no NMEA sentence in this file")
    assert "no NMEA sentence" in out.err


def test_inspect_explains_a_log_whose_every_fix_is_too_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["GPRMC,120001.00,A,4807.038,N,01131.000,E,0.5,84.4,200307,,,A",
             "GPGGA,120001.00,4807.038,N,01131.000,E,1,09,0.9,545.4,M,46.9,M,,"]
    path = tmp_path / "old.nmea"
    path.write_bytes("".join(build_sentence(b) for b in lines).encode())
    assert run_cli(["gps", "inspect", "--format", "table", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["utc", "date", "fix", "lat", "lon", "alt_m", "sats", "hdop", "flags"]
    assert out[1].split()[:3] == ["2007-03-20", "12:00:01", "gps"]
    assert out[1].endswith("before_build")
    assert any(line.startswith("usable fixes   0") for line in out)
    assert any("every fix is dated before this firmware was built" in line for line in out)
