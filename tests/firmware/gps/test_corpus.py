"""Real receiver logs (../shared/nmea-corpus): no crash, fixes where the log has them, talkers."""

from pathlib import Path

import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.core.fix import Fix
from firmware.gps.settings import ReaderSettings
from firmware.tools.gps_inspect import inspect_log, read_chunks

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "nmea-corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no NMEA corpus at {CORPUS}")


def manifest() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    path = CORPUS / "MANIFEST.txt"
    if not path.is_file():
        return rows
    for line in path.read_text().splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        cols = [c.strip() for c in line.split("|")]
        rows[cols[0]] = {"talkers": cols[7], "types": cols[8]}
    return rows


LOGS = sorted(CORPUS.glob("*.nmea")) if CORPUS.is_dir() else []
RAW = sorted((CORPUS / "raw_mixed").glob("*.raw")) if CORPUS.is_dir() else []
# Logs whose receivers print no checksums at all (1990s units).
NO_CHECKSUM = {"gpsd__hp58534a.nmea"}


def run(path: Path, chunk: int = 97) -> tuple[list[Fix], dict[str, object]]:
    fixes: list[Fix] = []
    settings = ReaderSettings(require_checksum=path.name not in NO_CHECKSUM)
    summary = inspect_log(read_chunks(path, chunk), settings, ManualClock(), fixes.append)
    return fixes, summary


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_every_log_decodes_without_crash_and_counts_add_up(path: Path) -> None:
    fixes, summary = run(path)
    assert len(fixes) == summary["epochs"]
    lines = summary["lines"]
    accepted = sum(summary["accepted_by_type"].values())  # type: ignore[attr-defined]
    ignored = sum(summary["ignored_by_type"].values())  # type: ignore[attr-defined]
    parse_rejected = lines - accepted - ignored  # type: ignore[operator]
    assert parse_rejected >= 0
    # Logs that carry position sentences with a valid status must yield valid fixes.
    text = path.read_bytes()
    if b"GGA," in text and any(b",A," in ln for ln in text.splitlines() if b"RMC," in ln):
        assert any(f.valid and f.has_position for f in fixes), path.name
    # No empty field ever turned into a 0.0 position on a valid fix.
    for fix in fixes:
        if fix.valid:
            assert fix.has_position


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_talkers_of_the_manifest_are_recognised(path: Path) -> None:
    expected = manifest().get(path.name)
    if expected is None:
        pytest.skip("not in MANIFEST.txt")
    _, summary = run(path)
    seen = set(summary["talkers"])  # type: ignore[arg-type]
    usable = {"GP", "GN", "GL", "GA", "GB", "GQ", "BD"}
    wanted = {t.split(":")[0] for t in expected["talkers"].split()} & usable
    used_types = {"GGA", "RMC", "GSA", "GSV", "VTG", "ZDA", "GLL", "GNS"}
    has_used = any(t.split(":")[0] in used_types for t in expected["types"].split())
    if has_used:
        assert wanted & seen, (wanted, seen)


def test_old_log_fixes_are_flagged_before_build_not_dropped() -> None:
    fixes, summary = run(CORPUS / "gpsd__bu353s4.nmea")
    assert summary["epochs"] == len(fixes) > 0
    assert all("before_build" in f.flags for f in fixes if f.utc is not None)


def test_nmea41_receiver_gets_valid_fixes_and_per_constellation_counts() -> None:
    fixes, _ = run(CORPUS / "gpsd__ublox-zed-f9p-nmea.nmea")
    good = [f for f in fixes if f.valid]
    assert good, "u-blox F9P NMEA 4.10 RMC with nav status V must still be valid"
    assert any(len(f.in_view_by_system) >= 4 for f in good)
    assert any(len(f.used_by_system) >= 3 for f in good)


@pytest.mark.parametrize("path", RAW, ids=lambda p: p.name)
def test_raw_streams_with_binary_frames_resynchronise(path: Path) -> None:
    fixes, summary = run(path, chunk=61)
    rejected = summary["rejected"]
    assert isinstance(rejected, dict)
    nmea_twin = CORPUS / (path.stem + ".nmea")
    if nmea_twin.is_file():
        twin_fixes, _ = run(nmea_twin)
        # The binary frames cost no fix the clean NMEA extract has.
        assert sum(f.valid for f in fixes) >= sum(f.valid for f in twin_fixes)


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_every_timed_fix_gets_a_date_when_the_log_has_one_anywhere(path: Path) -> None:
    fixes, _ = run(path)
    if not any(f.date_source is not None and f.date_source.value == "gps" for f in fixes):
        return  # no valid dated sentence in the whole log (e.g. tn200: every RMC malformed)
    undated = [f for f in fixes if f.time_key is not None and f.utc is None]
    assert undated == [], f"{len(undated)} timed fixes without a date"


@pytest.mark.parametrize(
    "name", ["gpsd__ublox-zed-f9r.nmea", "gpsd__hemi.nmea", "gpsd__ericsson-gru04-02-70sec.nmea"]
)
def test_logs_without_rmc_are_dated_from_zda(name: str) -> None:
    """GGA/GNS + ZDA receivers (no RMC, per MANIFEST.txt): every fix with a time has a date."""
    assert "RMC" not in manifest()[name]["types"]
    fixes, _ = run(CORPUS / name)
    timed = [f for f in fixes if f.time_key is not None]
    assert timed and all(f.utc is not None for f in timed)


def test_gga_only_epochs_between_rmcs_are_carried_or_backfilled() -> None:
    """eXplorist 110 sends RMC only every few epochs: today those GGA epochs had utc null."""
    fixes, summary = run(CORPUS / "gpsd__eXplorist110.nmea")
    assert summary["dates_by_source"] == {"backfill": 2, "carried": 18, "gps": 9}
    assert all(f.utc is not None for f in fixes if f.time_key is not None)
