"""Review images in the check-in flow: only a committed no_match keeps frames, sealed, expiring."""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from PIL import Image

from fieldcheck_protocol import review_box
from fieldcheck_protocol.record import Kind
from fieldcheck_protocol.signature import unverified_record
from firmware.app.wiring import build_checkin, template_store_for
from firmware.camera.base import Burst
from firmware.config import from_mapping
from firmware.core.settings import SettingsError, build
from firmware.core.verdict import Guidance, Outcome
from firmware.errors import CameraError, ConfigError, StoreError
from firmware.face.review_images import ReviewImages, file_name, open_sealed
from firmware.services.checkin import CheckinService, Receipt
from firmware.services.schedule import CheckinSettings
from tests.firmware.services.checkin_fakes import (
    MATCH,
    NO_MATCH,
    FixedTemplates,
    ScriptedCamera,
    ScriptedEngine,
    a_template,
    ledger_for,
    unknown,
)

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
REPLAY = {"camera": {"type": "replay"}}  # a config that builds on a laptop


@pytest.fixture()
def desk() -> bytes:
    key = X25519PrivateKey.generate()
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def on_settings(desk: bytes, **more: object) -> CheckinSettings:
    public = review_box.public_key_of(desk).hex()
    return CheckinSettings(review_images=True, review_public_key=public, **more)  # type: ignore[arg-type]


def service(store, clock, camera, engine, review, **settings) -> CheckinService:
    camera.start()
    engine.start()
    return CheckinService(camera, engine, FixedTemplates(a_template()), ledger_for(store, clock),
                          CheckinSettings(**settings), sleep=lambda s: None,
                          clock=clock, review=review)


def checkin_bodies(store) -> list[Mapping[str, Any]]:
    records = (unverified_record(r.cose) for r in store.records())
    return [r.body for r in records if r.kind is Kind.CHECKIN]


def test_a_no_match_seals_the_frames_of_the_deciding_try_named_by_its_seq(
        store, clock, desk, tmp_path) -> None:
    keeper = ReviewImages(tmp_path / "review", review_box.public_key_of(desk), "fc-dev", 30.0)
    camera = ScriptedCamera([3, 2])  # the deciding (second) try has two frames
    svc = service(store, clock, camera, ScriptedEngine([unknown(Guidance.TOO_DARK), NO_MATCH]),
                  keeper, attempts=3)
    receipt = svc.run("manual")
    assert receipt.outcome is Outcome.NO_MATCH and receipt.attempts == 2
    assert sorted(p.name for p in keeper.directory.iterdir()) == [
        file_name(receipt.seq, 0), file_name(receipt.seq, 1)]
    for index in range(2):
        header, jpeg = open_sealed(keeper.directory / file_name(receipt.seq, index), desk)
        assert (header.seq, header.frame, header.captured) == (receipt.seq, index, START)
        assert jpeg.startswith(b"\xff\xd8")  # a JPEG
    # Neither the record nor the receipt says anything about images.
    assert set(checkin_bodies(store)[0]) == {"verdict", "trigger", "score",
                                             "detector_confidence", "brightness",
                                             "sharpness", "face_px"}
    assert set(receipt.as_dict()) == {"trigger", "outcome", "guidance", "message", "score",
                                      "attempts", "seq", "device_time", "with_fix"}


@pytest.mark.parametrize(("camera", "verdicts"), [
    ([3], [MATCH]),
    ([3], [unknown(Guidance.TOO_DARK)]),
    ([CameraError("no frame", "check the cable")], []),
])
def test_match_and_unknown_keep_nothing(store, clock, desk, tmp_path, camera,
                                        verdicts) -> None:
    keeper = ReviewImages(tmp_path / "review", review_box.public_key_of(desk), "fc-dev", 30.0)
    receipt = service(store, clock, ScriptedCamera(camera), ScriptedEngine(verdicts), keeper,
                      attempts=1).run("manual")
    assert receipt.outcome is not Outcome.NO_MATCH
    assert not keeper.directory.exists()


def test_a_sealing_failure_is_logged_and_changes_neither_receipt_nor_record(
        store, clock, desk, tmp_path, caplog) -> None:
    (tmp_path / "review").write_text("a file where the review dir should be")
    keeper = ReviewImages(tmp_path / "review", review_box.public_key_of(desk), "fc-dev", 30.0)
    failing = service(store, clock, ScriptedCamera([]), ScriptedEngine([NO_MATCH]), keeper)
    plain = service(store, clock, ScriptedCamera([]), ScriptedEngine([NO_MATCH]), None)
    with caplog.at_level(logging.ERROR):
        got = failing.run("button")
    want = plain.run("button")

    def shown(receipt: Receipt) -> dict:
        return {k: v for k, v in receipt.as_dict().items() if k != "seq"}

    assert shown(got) == shown(want) and got.seq == want.seq - 1
    assert f"no_match record {got.seq} were not kept for review" in caplog.text
    first, second = checkin_bodies(store)
    assert first == second and first["verdict"] == "no_match"


def enrolled_worker(store, clock, tmp_path, settings, verdicts):  # noqa: ANN201
    template_store_for(settings, tmp_path, store.device_id).save(a_template())
    return build_checkin(ScriptedCamera([]), ScriptedEngine(verdicts), settings,
                         data_dir=tmp_path, device_id=store.device_id,
                         recorder=ledger_for(store, clock), clock=clock)


def test_review_images_are_off_by_default(store, clock, tmp_path) -> None:
    assert CheckinSettings().review_images is False
    worker = enrolled_worker(store, clock, tmp_path, CheckinSettings(), [NO_MATCH])
    receipt = worker.step("manual")
    assert receipt is not None and receipt.outcome is Outcome.NO_MATCH
    assert not (tmp_path / "review").exists()


def test_the_worker_seals_in_the_data_dir_and_prunes_at_start_and_after_each_check_in(
        store, clock, desk, tmp_path) -> None:
    settings = on_settings(desk, review_dir=Path("held/review"), review_retention_days=2.0)
    worker = enrolled_worker(store, clock, tmp_path, settings, [NO_MATCH, MATCH, MATCH])
    review = tmp_path / "held" / "review"
    first = worker.step("manual")
    assert first is not None
    assert sorted(p.name for p in review.iterdir()) == [file_name(first.seq, i)
                                                        for i in range(3)]
    header, _ = open_sealed(review / file_name(first.seq, 0), desk)
    assert header.device_id == store.device_id
    clock.advance(86400)
    worker.step("manual")  # a match a day later: nothing new, nothing expired yet
    assert len(list(review.iterdir())) == 3
    clock.advance(86400 + 1)
    worker.start()  # start prunes once, before any check-in
    try:
        assert list(review.iterdir()) == []
    finally:
        worker.stop()


def test_the_worker_prunes_after_a_check_in(store, clock, desk, tmp_path) -> None:
    settings = on_settings(desk, review_retention_days=1.0)
    worker = enrolled_worker(store, clock, tmp_path, settings, [NO_MATCH, MATCH])
    worker.step("manual")
    assert len(list((tmp_path / "review").iterdir())) == 3
    clock.advance(86400 + 1)
    worker.step("manual")
    assert list((tmp_path / "review").iterdir()) == []


def test_a_failing_prune_is_logged_not_raised(store, clock, desk, tmp_path, caplog) -> None:
    class Broken:
        def prune(self, now: datetime) -> int:
            raise StoreError("cannot list the review image directory", "check the owner")

    worker = enrolled_worker(store, clock, tmp_path, CheckinSettings(), [MATCH])
    worker.review = Broken()
    with caplog.at_level(logging.ERROR):
        assert worker.step("manual") is not None
    assert "expired review images were not deleted" in caplog.text


def test_enabling_review_images_without_a_key_is_refused(desk) -> None:
    with pytest.raises(ConfigError, match="review_public_key is not set"):
        from_mapping({"checkin": {"review_images": True}, **REPLAY}, "unit.toml")
    with pytest.raises(SettingsError, match="64 hex digits"):
        build(CheckinSettings, {"review_images": True, "review_public_key": "ab" * 31}, "checkin")
    with pytest.raises(SettingsError, match="review_retention_days"):
        CheckinSettings(review_retention_days=0)
    public = review_box.public_key_of(desk).hex()
    config = from_mapping({"checkin": {"review_images": True, "review_public_key": public,
                                       "review_retention_days": 7}, **REPLAY}, "unit.toml")
    assert config.checkin.review_retention_days == 7.0
    assert config.checkin.review_dir == Path("review")


def test_the_frames_sealed_are_the_cameras(store, clock, desk, tmp_path) -> None:
    class GreyCamera(ScriptedCamera):
        def capture_timed(self, count: int, timeout: float = 5.0) -> Burst:
            return Burst((np.full((32, 32, 3), 200, np.uint8),), (1.0,))

    keeper = ReviewImages(tmp_path / "review", review_box.public_key_of(desk), "fc-dev", 30.0)
    receipt = service(store, clock, GreyCamera([]), ScriptedEngine([NO_MATCH]), keeper).run(
        "manual")
    _, jpeg = open_sealed(keeper.directory / file_name(receipt.seq, 0), desk)
    assert abs(float(np.asarray(Image.open(BytesIO(jpeg))).mean()) - 200) < 2
