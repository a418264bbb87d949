"""The wide face set: faces of the corpus photos, deduplicated, split by photo, varied."""

import numpy as np

from models import chips, face_set


def _face(photo: str, value: int) -> face_set.Face:
    pixels = np.full((chips.CHIP_SIZE, chips.CHIP_SIZE, 3), value, np.uint8)
    return face_set.Face(photo, 0, pixels, None, pixels)


def test_a_face_shipped_twice_is_kept_once() -> None:
    found = [_face("a/x.jpg", 1), _face("b/copy-of-x.png", 2), _face("c/y.jpg", 3)]
    descriptors = np.array([[0.0, 0.0], [0.02, 0.0], [0.5, 0.0]])
    assert [f.photo for f in face_set.deduplicate(found, descriptors)] == ["a/x.jpg", "c/y.jpg"]


def test_the_wide_set_holds_many_faces_of_many_photos_once_each(
        wide_faces: list[face_set.Face]) -> None:
    photos = {f.photo for f in wide_faces}
    assert len(wide_faces) >= 75 and len(photos) >= 45
    descriptors = chips.dlib_descriptors([f.pixels for f in wide_faces])
    for i in range(len(wide_faces)):
        for j in range(i):
            assert np.linalg.norm(descriptors[i] - descriptors[j]) >= face_set.DUPLICATE_DISTANCE


def test_calibration_and_held_out_never_share_a_photo(wide_faces: list[face_set.Face]) -> None:
    calibration, held = face_set.split(wide_faces)
    assert calibration and held
    assert not {f.photo for f in calibration} & {f.photo for f in held}
    # Every calibration photo has a face; every other photo's faces are held out.
    assert {f.photo for f in calibration} == face_set.CALIBRATION_PHOTOS
    assert {f.photo for f in held} == {f.photo for f in wide_faces} - face_set.CALIBRATION_PHOTOS
    assert face_set.HELD_OUT_PHOTOS <= {f.photo for f in held}


def test_the_held_out_set_is_far_wider_than_six_photos(wide_faces: list[face_set.Face]) -> None:
    calibration, held = face_set.split(wide_faces)
    assert len(held) >= 50 and len({f.photo for f in held}) >= 30
    assert len(calibration) >= 20  # the calibration set grew too, from 12 faces of 6 photos


def test_variations_are_repeatable_and_change_pose_and_light(
        wide_faces: list[face_set.Face]) -> None:
    face = wide_faces[0]
    first = face_set.variations([face], 6, seed=5)
    assert first.shape == (6, chips.CHIP_SIZE, chips.CHIP_SIZE, 3) and first.dtype == np.uint8
    assert np.array_equal(first, face_set.variations([face], 6, seed=5))
    clean = face.pixels.astype(np.float32)
    assert all(np.abs(v.astype(np.float32) - clean).mean() > 3.0 for v in first)
    # Still the same face to dlib: every variation within the same-person threshold.
    descriptors = chips.dlib_descriptors([face.pixels, *first])
    assert (np.linalg.norm(descriptors[1:] - descriptors[0], axis=1) < 0.6).all()

