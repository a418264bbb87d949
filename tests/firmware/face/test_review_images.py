"""Review images on disk: sealed JPEG files, owner-only, opened by the desk, then expired."""

import io
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from PIL import Image

from fieldcheck_protocol import review_box
from firmware.errors import StoreError
from firmware.face.review_images import ReviewImages, file_name, open_sealed

CAPTURED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DEVICE = "fc-device-one"


@pytest.fixture
def desk() -> bytes:
    key = X25519PrivateKey.generate()
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


@pytest.fixture
def keeper(tmp_path: Path, desk: bytes) -> ReviewImages:
    return ReviewImages(tmp_path / "review", review_box.public_key_of(desk), DEVICE, 30.0)


def frames(count: int) -> list[np.ndarray]:
    """Distinct frames: a grey level per frame, so each file shows which frame it holds."""
    return [np.full((48, 64, 3), 40 * (i + 1), np.uint8) for i in range(count)]


def test_each_frame_is_one_owner_only_file_the_desk_opens(keeper, desk) -> None:
    assert keeper.keep(frames(3), seq=17, captured=CAPTURED) == 3
    names = sorted(p.name for p in keeper.directory.iterdir())
    assert names == [file_name(17, i) for i in range(3)] == [
        "review-0000000017-0.sealed", "review-0000000017-1.sealed", "review-0000000017-2.sealed"]
    assert stat.S_IMODE(keeper.directory.stat().st_mode) == 0o700
    for index, name in enumerate(names):
        path = keeper.directory / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        header, jpeg = open_sealed(path, desk)
        assert (header.device_id, header.seq, header.frame, header.captured) == (
            DEVICE, 17, index, CAPTURED)
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and image.size == (64, 48)
        assert abs(int(np.asarray(image).mean()) - 40 * (index + 1)) <= 2


def test_a_camera_rgbx_frame_is_kept_as_a_three_channel_jpeg_of_its_colours(keeper, desk) -> None:
    frame = np.zeros((48, 64, 4), np.uint8)  # the fourth byte (unused by the camera) is 0
    frame[..., :3] = (200, 40, 90)
    keeper.keep([frame, frame[:, 8:56]], seq=9, captured=CAPTURED)
    for index, width in enumerate((64, 48)):  # mapped in place, and a strided one copied
        _, jpeg = open_sealed(keeper.directory / file_name(9, index), desk)
        image = Image.open(io.BytesIO(jpeg))
        assert image.mode == "RGB" and image.size == (width, 48)
        assert np.abs(np.asarray(image, np.int16) - (200, 40, 90)).max() <= 3


def test_a_file_is_never_replaced(keeper) -> None:
    keeper.keep(frames(1), seq=5, captured=CAPTURED)
    before = (keeper.directory / file_name(5, 0)).read_bytes()
    with pytest.raises(StoreError, match="already exists"):
        keeper.keep(frames(1), seq=5, captured=CAPTURED)
    assert (keeper.directory / file_name(5, 0)).read_bytes() == before


def test_a_frame_that_is_not_rgb_is_a_store_error(keeper) -> None:
    with pytest.raises(StoreError, match="cannot encode review frame 0 of record 3"):
        keeper.keep([np.zeros((4, 4), np.float64)], seq=3, captured=CAPTURED)
    assert list(keeper.directory.iterdir()) == []


def test_an_unwritable_directory_is_a_store_error(tmp_path, desk) -> None:
    (tmp_path / "review").write_text("a file where the directory should be")
    keeper = ReviewImages(tmp_path / "review", review_box.public_key_of(desk), DEVICE, 30.0)
    with pytest.raises(StoreError, match="review image directory"):
        keeper.keep(frames(1), seq=1, captured=CAPTURED)


def test_retention_deletes_only_files_captured_before_the_cutoff(keeper) -> None:
    keeper.keep(frames(2), seq=1, captured=CAPTURED)
    keeper.keep(frames(1), seq=2, captured=CAPTURED + timedelta(days=10))
    other = keeper.directory / "notes.txt"
    other.write_text("not ours: never deleted")
    assert keeper.prune(CAPTURED + timedelta(days=29, hours=23)) == 0
    assert keeper.prune(CAPTURED + timedelta(days=30, seconds=1)) == 2
    assert sorted(p.name for p in keeper.directory.iterdir()) == ["notes.txt", file_name(2, 0)]
    assert keeper.prune(CAPTURED + timedelta(days=40, seconds=1)) == 1
    assert [p.name for p in keeper.directory.iterdir()] == ["notes.txt"]


def test_a_damaged_file_expires_by_its_mtime(keeper) -> None:
    keeper.keep(frames(1), seq=8, captured=CAPTURED)
    damaged = keeper.directory / file_name(8, 0)
    damaged.write_bytes(b"half-written")
    written = CAPTURED + timedelta(days=5)
    os.utime(damaged, (written.timestamp(), written.timestamp()))
    assert keeper.prune(CAPTURED + timedelta(days=31)) == 0  # the header's time is gone
    assert keeper.prune(written + timedelta(days=30, seconds=1)) == 1


def test_a_scratch_file_left_by_a_crash_expires_too(keeper) -> None:
    keeper.keep(frames(1), seq=9, captured=CAPTURED)
    scratch = keeper.directory / f".{file_name(10, 0)}.0123456789ab.tmp"
    scratch.write_bytes(b"")
    os.utime(scratch, (CAPTURED.timestamp(), CAPTURED.timestamp()))
    assert keeper.prune(CAPTURED + timedelta(days=31)) == 2
    assert list(keeper.directory.iterdir()) == []


def test_pruning_before_anything_was_kept_does_nothing(keeper) -> None:
    assert keeper.prune(CAPTURED) == 0
    assert not keeper.directory.exists()
