"""The self-test's checks: each pass and each failure with what to do, on real parts."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from fieldcheck_protocol.clock import ManualClock
from firmware.errors import GpsError
from firmware.face import manifest
from firmware.face.backends.runner import TfliteRunner
from firmware.face.pipeline import Embedder
from firmware.services import model_check, selftest
from firmware.services.selftest import Check, Finding, Status

MODELS = Path(__file__).resolve().parents[3] / "models"


def embedder(spec: manifest.ModelSpec):  # noqa: ANN201 - the factory the CLI passes
    return Embedder(TfliteRunner(spec), spec).embed


def test_a_raising_probe_is_its_own_failure_and_the_others_still_run() -> None:
    def broken() -> Finding:
        raise GpsError("no GPS sentence on /dev/serial0", "check wiring, enable_uart=1")

    rows = selftest.run_checks([Check("gps", broken),
                                Check("storage", lambda: Finding(True, "ok", facts={"free_mb": 9})),
                                Check("server", lambda: Finding(None, "no server"))])
    assert [r.status for r in rows] == [Status.FAIL, Status.PASS, Status.SKIP]
    assert rows[0].found == "no GPS sentence on /dev/serial0"
    assert rows[0].todo == "check wiring, enable_uart=1"
    assert not selftest.passed(rows)
    details = selftest.details(rows)
    assert details == {"passed": False, "failed": "gps", "gps_ok": False, "storage_ok": True,
                       "server_ok": None, "storage_free_mb": 9}
    lines = selftest.table(rows)
    assert lines[0].split()[:2] == ["gps", "FAIL"]
    assert lines[1].strip() == "-> check wiring, enable_uart=1"
    assert lines[-1] == "self-test FAILED: gps"


def test_details_fit_the_event_record_rules() -> None:
    facts = {f"fact{i}": i for i in range(20)}
    rows = selftest.run_checks([Check(f"check{i}", lambda: Finding(True, "ok", facts=facts))
                                for i in range(4)])
    details = selftest.details(rows)
    assert len(details) == selftest.MAX_ENTRIES
    assert all(len(key.encode()) <= selftest.KEY_BYTES for key in details)
    assert details["passed"] is True and details["failed"] == ""


def test_storage_writes_fsyncs_and_measures_free_space(tmp_path: Path) -> None:
    (row,) = selftest.run_checks([Check("storage", selftest.storage_probe(tmp_path, 1))])
    assert row.status is Status.PASS and row.facts["written"] is True
    assert not list(tmp_path.iterdir())  # the probe file is gone
    (full,) = selftest.run_checks([Check("storage", selftest.storage_probe(tmp_path, 2**62))])
    assert full.status is Status.FAIL and "free space" in full.todo


def test_storage_on_a_missing_folder_fails_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        selftest.storage_probe(tmp_path / "gone", 1)()


def test_clock_unset_unsynchronised_off_gps_and_good() -> None:
    def row(clock: ManualClock, synced: bool, offset: float | None) -> selftest.Row:
        probe = selftest.clock_probe(clock, lambda: synced, lambda: offset)
        return selftest.run_checks([Check("clock", probe)])[0]

    unset = row(ManualClock(wall=datetime(1970, 1, 1, tzinfo=UTC)), True, None)
    assert unset.status is Status.FAIL and "1970-01-01" in unset.found and "NTP" in unset.todo
    assert row(ManualClock(), True, 5.0).status is Status.FAIL
    assert row(ManualClock(), False, None).status is Status.FAIL
    assert row(ManualClock(), False, 0.2).status is Status.PASS  # GPS vouches for it
    assert row(ManualClock(), True, None).status is Status.PASS


def frames(value: float | None, channels: int = 3) -> list[np.ndarray]:
    """One frame: a pattern (None) or flat grey; with 4 channels an RGBX one whose unused
    fourth byte is 0 (the camera leaves it undefined: it must not count)."""
    if value is None:
        y, x = np.mgrid[0:48, 0:64]
        colours = np.stack([x * 3, y * 4, x + y], -1).astype(np.uint8)
    else:
        colours = np.full((48, 64, 3), value, np.uint8)
    if channels == 3:
        return [colours]
    return [np.ascontiguousarray(np.concatenate([colours, np.zeros((48, 64, 1), np.uint8)], -1))]


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize(("value", "status", "words"), [
    (None, Status.PASS, "mean"), (3, Status.FAIL, "lens cover"), (250, Status.FAIL, "lamp"),
    (128, Status.FAIL, "ribbon"),
])
def test_camera_exposure(value: float | None, status: Status, words: str, channels: int) -> None:
    camera = selftest.CameraCheck(lambda n: frames(value, channels) * n, "test camera")
    capture, exposure = selftest.run_checks([Check("camera", camera.capture),
                                             Check("camera_exposure", camera.exposure)])
    assert capture.status is Status.PASS and capture.facts["width"] == 64
    assert exposure.status is status and words in (exposure.todo or exposure.found)


def test_exposure_is_skipped_when_capture_failed() -> None:
    camera = selftest.CameraCheck(lambda n: [], "test camera")
    capture, exposure = selftest.run_checks([Check("camera", camera.capture),
                                             Check("camera_exposure", camera.exposure)])
    assert capture.status is Status.FAIL and "ribbon cable" in capture.todo
    assert exposure.status is Status.SKIP


def test_pattern_chip_is_the_same_every_time() -> None:
    chip = model_check.pattern_chip()
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    assert np.array_equal(chip, model_check.pattern_chip()) and chip.std() > 20


@pytest.fixture
def models(tmp_path: Path) -> Path:
    if not (MODELS / model_check.ANSWER_FILE).is_file():
        pytest.skip("models/known_answer.json not present")
    folder = tmp_path / "models"
    folder.mkdir()
    listed = json.loads((MODELS / "manifest.json").read_text())["models"].values()
    for name in ("manifest.json", model_check.ANSWER_FILE, *(entry["file"] for entry in listed)):
        shutil.copy(MODELS / name, folder / name)  # every model the manifest lists, no more
    return folder


def test_models_match_the_manifest_and_give_the_known_answer(models: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    rows = selftest.run_checks([Check("models_sha256", model_check.files_probe(models)),
                                Check("known_answer",
                                      model_check.known_answer_probe(models, embedder))])
    assert [r.status for r in rows] == [Status.PASS, Status.PASS]
    assert rows[1].facts["distance"] <= rows[1].facts["limit"]


def test_a_damaged_model_fails_its_sha256(models: Path) -> None:
    blob = bytearray((models / "face_embedder_int8.tflite").read_bytes())
    blob[-100] ^= 0xFF
    (models / "face_embedder_int8.tflite").write_bytes(bytes(blob))
    (row,) = selftest.run_checks([Check("models_sha256", model_check.files_probe(models))])
    assert row.status is Status.FAIL and "does not match the manifest" in row.found
    assert "reinstall" in row.todo


def test_a_wrong_answer_fails_the_known_answer(models: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    path = models / model_check.ANSWER_FILE
    answer = json.loads(path.read_text())
    answer["embedding"] = [v + 0.05 for v in answer["embedding"]]
    path.write_text(json.dumps(answer))
    (row,) = selftest.run_checks([Check("known_answer",
                                        model_check.known_answer_probe(models, embedder))])
    assert row.status is Status.FAIL and "off the known answer" in row.found


def test_a_missing_answer_says_to_reinstall(models: Path) -> None:
    (models / model_check.ANSWER_FILE).unlink()
    (row,) = selftest.run_checks([Check("known_answer",
                                        model_check.known_answer_probe(models, embedder))])
    assert row.status is Status.FAIL and "reinstall the model bundle" in row.todo


def test_supervisor_link_down_says_what_to_check() -> None:
    (row,) = selftest.run_checks([Check("supervisor", selftest.supervisor_probe(
        lambda _s: False, "/dev/fieldcheck-mcu", 0.1))])
    assert row.status is Status.FAIL and "mpremote" in row.todo


def test_server_unreachable_and_unconfigured() -> None:
    from firmware.sync.base import SyncUnavailable

    class Down:
        describe = "https://127.0.0.1:9"

        def health(self) -> str:
            raise SyncUnavailable("cannot connect", "check the network")

    down, none = selftest.run_checks([Check("server", selftest.server_probe(Down())),
                                      Check("server", selftest.server_probe(None))])
    assert down.status is Status.FAIL and down.todo == "check the network"
    assert none.status is Status.SKIP


def test_a_running_link_is_only_read_and_a_down_one_says_so() -> None:
    up, down = selftest.run_checks([
        Check("supervisor", selftest.supervisor_probe(lambda _s: True, "sim", 0)),
        Check("supervisor", selftest.supervisor_probe(lambda _s: False, "sim", 0))])
    assert up.status is Status.PASS and down.found == "sim: link down"


def test_the_shipped_known_answer_is_for_the_shipped_embedder() -> None:
    if not (MODELS / model_check.ANSWER_FILE).is_file():
        pytest.skip("models/known_answer.json not present")
    answer = json.loads((MODELS / model_check.ANSWER_FILE).read_text())
    spec = manifest.load(MODELS).model(manifest.EMBEDDER)
    assert answer["embedder_sha256"] == spec.sha256, "run `make models` (it rewrites the answer)"
    assert len(answer["embedding"]) == 128
