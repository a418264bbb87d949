"""BlazeFace decoding: anchor layout, NMS, letterbox maths, and the real model on real photos."""

import numpy as np
import pytest

from firmware.face import detector

SPEC = detector.AnchorSpec()


def test_anchor_layout_is_16x16x2_then_8x8x6() -> None:
    centres = detector.anchors(SPEC)
    assert centres.shape == (896, 2)
    np.testing.assert_allclose(centres[0], centres[1])  # two anchors per stride-8 cell
    np.testing.assert_allclose(centres[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(centres[2], [1.5 / 16, 0.5 / 16])  # x runs fastest
    np.testing.assert_allclose(centres[512:518], np.tile([[0.5 / 8, 0.5 / 8]], (6, 1)))
    np.testing.assert_allclose(centres[-1], [7.5 / 8, 7.5 / 8])


def test_anchor_count_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="anchors"):
        detector.anchors(detector.AnchorSpec(num_anchors=900))


def test_decode_places_boxes_and_keypoints_around_their_anchor() -> None:
    centres = detector.anchors(SPEC)
    reg = np.zeros((1, 896, 16), np.float32)
    reg[0, 600, :4] = [2.0, -3.0, 32.0, 16.0]
    reg[0, 600, 4:6] = [-8.0, 4.0]
    scores = np.full((1, 896, 1), -50.0, np.float32)
    scores[0, 600, 0] = 5.0
    ((row, score),) = detector.decode(reg, scores, centres, 128, 0.5, 100.0)
    cx, cy = centres[600] * 128
    assert score == pytest.approx(1 / (1 + np.exp(-5.0)))
    np.testing.assert_allclose(row[:4], [cx + 2 - 16, cy - 3 - 8, cx + 2 + 16, cy - 3 + 8])
    np.testing.assert_allclose(row[4:6], [cx - 8, cy + 4])
    np.testing.assert_allclose(row[6:8], [cx, cy])  # a keypoint the model put on the anchor


def test_weighted_nms_averages_overlaps_and_keeps_separate_faces() -> None:
    def box(x: float, score: float) -> detector.Candidate:
        return [x, x, x + 10, x + 10] + [x + 5] * 12, score

    merged = detector.weighted_nms([box(0, 0.9), box(1, 0.3), box(50, 0.8)], 0.3)
    assert len(merged) == 2
    np.testing.assert_allclose(merged[0][0][:4], [0.25, 0.25, 10.25, 10.25], rtol=1e-5)
    assert merged[0][1] == pytest.approx(0.9)
    assert merged[1][0][:4] == [50, 50, 60, 60] and merged[1][1] == 0.8


def test_letterbox_is_undone_exactly() -> None:
    frame = np.zeros((300, 600, 3), np.uint8)
    tensor, box = detector.letterbox(frame, 128)
    assert tensor.shape == (1, 128, 128, 3) and tensor.min() == -1.0
    row = [0.0] * 16
    row[0::2] = [0 * box.scale + box.pad_x] * 8   # every x at frame x = 0
    row[1::2] = [150 * box.scale + box.pad_y] * 8  # every y at frame y = 150
    (found,) = detector.to_frame([(row, 0.9)], box)
    assert found.box[0] == pytest.approx(0, abs=1e-4) and found.box[1] == pytest.approx(150)
    np.testing.assert_allclose(found.keypoints, [[0, 150]] * 6, atol=1e-4)


@pytest.mark.parametrize("stem", ["obama", "obama2", "obama3", "biden"])
def test_real_model_finds_one_face_with_plausible_keypoints(engine, photo, stem) -> None:
    faces = engine.pipeline.detector.detect(photo(stem))
    assert len(faces) == 1
    face = faces[0]
    x0, y0, x1, y1 = face.box
    eye_l, eye_r, nose, mouth = face.keypoints[:4]
    assert face.score > 0.7 and face.width > 200
    assert eye_l[0] < nose[0] < eye_r[0] or eye_l[0] < mouth[0] < eye_r[0]
    assert max(eye_l[1], eye_r[1]) < nose[1] < mouth[1] < y1
    assert x0 < eye_l[0] and eye_r[0] < x1


def test_blank_frame_has_no_face(engine) -> None:
    assert engine.pipeline.detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
