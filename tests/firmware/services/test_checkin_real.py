"""Check-ins end to end on real photos: replay camera, TFLite engine, encrypted template, SQLite."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware.app.wiring import template_store_for
from firmware.camera.backends import replay as replay_camera
from firmware.camera.backends.replay import load_rgb
from firmware.core.fix import Fix, FixType
from firmware.face import manifest
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.services.checkin import CheckinService
from firmware.services.schedule import CheckinSettings
from firmware.version import FIRMWARE_VERSION
from tests.firmware.services.checkin_fakes import ledger_for, opened_store

MODELS = Path(__file__).resolve().parents[3] / "models"
START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def images() -> Path:
    from host_tools import sample_faces

    try:
        return sample_faces.images_dir()
    except FileNotFoundError as err:
        pytest.skip(f"sample photos unavailable: {err}")


@pytest.fixture(scope="module")
def engine() -> TfliteFaceEngine:
    if not (MODELS / "manifest.json").is_file():
        pytest.skip("models/manifest.json not present")
    started = TfliteFaceEngine(Config(models_dir=MODELS), need_embedder=False)
    started.start()
    if started.pipeline.embedder is None:
        pytest.skip("the face embedder is not built yet")
    return started


def run_checkin(tmp_path: Path, images: Path, engine: TfliteFaceEngine, shown: list[Path],
                with_fix: bool = True):
    """Enrol obama.jpg+obama2.jpg encrypted, serve ``shown`` from a replay camera, check in."""
    clock = ManualClock(wall=START, mono=1000.0)
    folder = tmp_path / "camera"
    folder.mkdir()
    for number, path in enumerate(shown):
        shutil.copy(path, folder / f"{number:02d}{path.suffix}")
    camera = replay_camera.create(replay_camera.Config(folder=folder))
    camera.start()
    settings = CheckinSettings(burst_frames=1, attempts=2, retry_delay_s=0.0, fix_wait_s=0.0)
    stores = opened_store(tmp_path, clock)
    store = next(stores)
    templates = template_store_for(settings, tmp_path, store.device_id)
    templates.save(engine.enroll([load_rgb(images / "obama.jpg"), load_rgb(images / "obama2.jpg")]))
    recorder = ledger_for(store, clock, model=engine)  # as the wiring attaches it
    if with_fix:
        recorder.on_fix(Fix(utc=START, time_key=0, latitude=47.3769, longitude=8.5417,
                            altitude_m=408.0, quality=1, fix_type=FixType.THREE_D, valid=True,
                            hdop=0.8, pdop=1.2, vdop=0.9, satellites_used=10,
                            received_mono=clock.mono, clock_offset_s=0.0))
        clock.advance(3)
    waits: list[float] = []
    service = CheckinService(camera, engine, templates, recorder, settings,
                             sleep=waits.append, clock=clock)
    receipt = service.run("scheduled")
    records = [unverified_record(r.cose) for r in store.records()]
    stores.close()
    return receipt, [r for r in records if r.kind is Kind.CHECKIN], waits


def darkened(source: Path, target: Path) -> Path:
    """The photo at a third of its brightness: the face is found but too dark to judge."""
    picture = np.asarray(Image.open(source).convert("RGB"))
    Image.fromarray((picture * 0.33).astype(np.uint8)).save(target)
    return target


@pytest.mark.parametrize("stem", ["obama3", "obama"])
def test_the_enrolled_person_matches_with_the_fix_recorded(tmp_path, images, engine, stem):
    receipt, (record,), _ = run_checkin(tmp_path, images, engine, [images / f"{stem}.jpg"])
    assert receipt.outcome.value == "match" and receipt.with_fix and receipt.attempts == 1
    assert record.seq == receipt.seq and record.body["verdict"] == "match"
    assert 0.5 < record.body["score"] <= 1.0 and 0.5 < record.body["detector_confidence"] <= 1.0
    assert record.body["trigger"] == "scheduled" and "slot" not in record.body
    assert 50.0 <= record.body["brightness"] <= 215.0 and record.body["face_px"] >= 80.0
    assert "guidance" not in record.body and "liveness" not in record.body
    assert record.fix is not None
    assert (record.fix.lat, record.fix.lon, record.fix.mode) == (47.3769, 8.5417, "3d")
    assert record.fix.age_s == 3.0 and record.gps_time == START
    assert record.device_time == START + timedelta(seconds=3)


def test_another_person_is_no_match_for_review(tmp_path, images, engine) -> None:
    receipt, (record,), waits = run_checkin(tmp_path, images, engine, [images / "biden.jpg"],
                                            with_fix=False)
    assert receipt.outcome.value == "no_match" and receipt.attempts == 1 and waits == []
    assert record.body["verdict"] == "no_match" and record.body["score"] < 0.5
    assert record.fix is None and record.gps_time is None


def test_a_dark_frame_is_retried_then_recorded_unknown_with_guidance(tmp_path, images, engine):
    dark = darkened(images / "obama3.jpg", tmp_path / "dark.png")
    receipt, (record,), waits = run_checkin(tmp_path, images, engine, [dark])
    assert receipt.outcome.value == "unknown" and receipt.attempts == 2 and waits == [0.0]
    assert receipt.guidance == "too_dark" and "more light" in receipt.message
    figures = ("detector_confidence", "brightness", "sharpness", "face_px")
    assert record.body == {"verdict": "unknown", "trigger": "scheduled", "guidance": "too_dark",
                           **{name: record.body[name] for name in figures}}
    assert record.body["brightness"] < 50.0  # the figure behind the guidance, under its name
    assert record.fix is not None


def test_a_dark_try_then_a_good_one_is_a_single_match(tmp_path, images, engine) -> None:
    dark = darkened(images / "obama3.jpg", tmp_path / "dark.png")
    receipt, records, waits = run_checkin(tmp_path, images, engine,
                                          [dark, images / "obama3.jpg"])
    assert (receipt.outcome.value, receipt.attempts, len(records)) == ("match", 2, 1)


def test_the_check_in_record_names_the_model_that_judged_it(tmp_path, images, engine) -> None:
    """Not "none": the embedder's manifest sha256, and this firmware's version."""
    embedder = manifest.load(MODELS).model(manifest.EMBEDDER)
    receipt, (record,), _ = run_checkin(tmp_path, images, engine, [images / "obama3.jpg"])
    assert receipt.outcome.value == "match"
    assert record.model_version == embedder.sha256 == engine.model_sha256
    assert record.firmware_version == FIRMWARE_VERSION


def test_an_almost_black_frame_asks_for_more_light_not_to_look_at_the_camera(tmp_path, images,
                                                                            engine):
    black = tmp_path / "black.png"
    picture = np.asarray(Image.open(images / "obama3.jpg").convert("RGB"))
    Image.fromarray((picture * 0.04).astype(np.uint8)).save(black)  # no face can be found
    receipt, (record,), _ = run_checkin(tmp_path, images, engine, [black])
    assert receipt.guidance == "too_dark" and "more light" in receipt.message
    assert "brightness" not in record.body  # no face: no face figures, only the cause
