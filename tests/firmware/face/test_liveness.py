"""The liveness checks on synthetic face-mesh sequences: live blinks and turns pass, flat
pictures held still or moved as one (a homography) are refused, frozen bursts too.

The sequences come from a 3-D face posed in front of a pinhole camera with landmark noise
(``firmware.tools.face_mesh_sim``); how the real landmark model's noise looks on live people at
the unit's camera needs captures on a unit (see that module's docstring).
"""

import numpy as np
import pytest

from firmware.face import liveness
from firmware.face.liveness import Challenge, Failure, LivenessSettings
from firmware.tools import face_mesh_sim as sim

SETTINGS = LivenessSettings()
SEEDS = range(10)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_live_blink_passes(seed: int) -> None:
    result = liveness.judge(Challenge.BLINK, sim.blink(np.random.default_rng(seed)), [],
                            SETTINGS)
    assert result.passed, result.figures
    assert result.figures["eye_closure"] >= SETTINGS.min_eye_closure


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("challenge", [Challenge.TURN_LEFT, Challenge.TURN_RIGHT])
def test_a_live_turn_the_asked_way_passes_and_the_other_way_does_not(seed, challenge) -> None:
    rng = np.random.default_rng(seed)
    to_left = challenge is Challenge.TURN_LEFT
    assert liveness.judge(challenge, sim.turn(rng, to_left), [], SETTINGS).passed
    wrong = liveness.judge(challenge, sim.turn(rng, not to_left), [], SETTINGS)
    assert wrong.failure is Failure.CHALLENGE_NOT_MET


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("challenge", list(Challenge))
@pytest.mark.parametrize("moved", [False, True])
def test_a_flat_picture_still_or_moved_as_one_is_refused(seed, challenge, moved) -> None:
    tracks = sim.flat_picture(np.random.default_rng(seed), moved=moved)
    result = liveness.judge(challenge, tracks, [], SETTINGS)
    assert result.failure is Failure.MOVED_AS_ONE, result.figures
    assert result.figures["nonrigid"] < SETTINGS.min_nonrigid


def test_a_live_face_held_still_cannot_be_told_from_a_print_and_is_refused() -> None:
    rng = np.random.default_rng(3)
    face = sim.face_model(rng)
    still = [sim.project(face, sim.Scene(), rng) for _ in range(8)]
    assert not liveness.judge(Challenge.BLINK, still, [], SETTINGS).passed


def test_a_blink_at_the_very_first_or_last_frame_is_not_a_blink() -> None:
    rng = np.random.default_rng(4)
    face = sim.face_model(rng)
    frames = [sim.project(sim.with_eyes(face, sim.EYE_OPEN_MM), sim.Scene(), rng)
              for _ in range(7)]
    frames.append(sim.project(sim.with_eyes(face, sim.EYE_CLOSED_MM), sim.Scene(), rng))
    result = liveness.judge(Challenge.BLINK, frames, [], SETTINGS)
    assert result.failure is Failure.CHALLENGE_NOT_MET


def test_too_few_frames_with_a_face_cannot_be_judged() -> None:
    tracks = sim.blink(np.random.default_rng(5))
    gaps = [points if i < 3 else None for i, points in enumerate(tracks)]
    assert liveness.judge(Challenge.BLINK, gaps, [], SETTINGS).failure is Failure.TOO_FEW_FACES


def test_frames_of_two_people_are_refused_as_a_changed_identity() -> None:
    rng = np.random.default_rng(6)
    one, other = rng.normal(0, 0.05, 128), rng.normal(0, 0.05, 128)
    other[:10] += 0.6  # far apart, as two people's embeddings are
    embeddings = [one.astype(np.float32)] * 4 + [other.astype(np.float32)] * 4
    result = liveness.judge(Challenge.BLINK, sim.blink(rng), embeddings, SETTINGS)
    assert result.failure is Failure.IDENTITY_CHANGED
    same = liveness.judge(Challenge.BLINK, sim.blink(rng), [one.astype(np.float32)] * 8,
                          SETTINGS)
    assert same.passed


def test_identical_frames_or_times_that_do_not_advance_are_a_frozen_burst() -> None:
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    noisy = [np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)
             for _ in range(4)]
    times = (1.0, 1.033, 1.066, 1.1)
    assert liveness.frozen([frame] * 4, times, SETTINGS.min_frame_change)
    assert not liveness.frozen(noisy, times, SETTINGS.min_frame_change)
    assert liveness.frozen(noisy, (1.0, 1.0, 1.0, 1.0), SETTINGS.min_frame_change)
    assert liveness.frozen(noisy, (1.0, 1.1, 1.05, 1.2), SETTINGS.min_frame_change)


@pytest.mark.parametrize("noise", [0.0, 0.6, 1.0, 3.0])
def test_the_banded_change_decides_as_the_whole_frames_mean_does(noise) -> None:
    """Summed band by band and stopped early, the change still says what the whole frame's
    mean absolute difference says, also at a limit equal to that mean."""
    rng = np.random.default_rng(13)
    a = rng.integers(0, 256, (101, 67, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, noise, a.shape).round(), 0, 255).astype(np.uint8)
    mean = float(np.abs(a.astype(np.int16) - b).mean())
    for least in (0.0, mean / 2, mean, np.nextafter(mean, np.inf), mean * 2 + 0.1):
        for band in (1, 7, 32, 500):
            assert liveness.changed(a, b, least, band) is bool(mean >= least), (least, band)
    assert liveness.changed(a, b[:50], 0.5)  # frames of two sizes are not one frame


@pytest.mark.parametrize("shape", [(1,), (3,), (4,), (129,), (128 * 4 * 3 + 5,), (33, 47, 3)])
@pytest.mark.parametrize("fill", ["random", "full"])
def test_the_byte_sum_is_numpys_exact_sum(shape, fill) -> None:
    """Exact at every length (words left over, bytes left over) and at the lanes' limit (all
    bytes 255: 128 words of two 510 pairs each fill a 16-bit lane to 65280)."""
    rng = np.random.default_rng(len(shape) + shape[0])
    data = (rng.integers(0, 256, shape, dtype=np.uint8) if fill == "random"
            else np.full(shape, 255, np.uint8))
    assert liveness.byte_sum(data.copy()) == int(data.sum(dtype=np.uint64))


def test_the_byte_sum_of_rgbx_leaves_the_fourth_byte_out() -> None:
    rng = np.random.default_rng(21)
    data = rng.integers(0, 256, (17, 300, 4), dtype=np.uint8)
    assert liveness.byte_sum(data.copy(), skip_fourth=True) == int(
        data[..., :3].sum(dtype=np.uint64))


@pytest.mark.parametrize("noise", [0.0, 0.6, 3.0])
def test_an_rgbx_pair_changes_exactly_as_its_rgb_twin(noise) -> None:
    """Read whole with the fourth byte masked out, the RGBX pair decides as the RGB pair
    does, also at a limit equal to the mean (the fourth bytes differ, and must not count)."""
    from firmware.face import picture

    rng = np.random.default_rng(17)
    a = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, noise, a.shape).round(), 0, 255).astype(np.uint8)
    ax, bx = picture.rgbx(a), picture.rgbx(b)
    bx[..., 3] = rng.integers(0, 256, bx.shape[:2], dtype=np.uint8)
    mean = float(np.abs(a.astype(np.int16) - b).mean())
    for least in (0.0, mean / 2, mean, np.nextafter(mean, np.inf), mean * 2 + 0.1):
        for band in (1, 7, 32, 500):
            assert liveness.changed(ax, bx, least, band) is bool(mean >= least), (least, band)
            assert liveness.changed(a, b, least, band) is bool(mean >= least), (least, band)


def test_a_live_burst_is_known_from_its_first_pair_of_frames() -> None:
    """The pairs are compared until one differs: the later frames are not read at all."""
    rng = np.random.default_rng(14)
    first, second = (rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(2))
    unread = [None, None]  # comparing these would raise
    assert not liveness.frozen([first, second, *unread], (1.0, 1.1, 1.2, 1.3),
                               SETTINGS.min_frame_change)


def test_the_homography_fit_recovers_a_known_warp() -> None:
    rng = np.random.default_rng(8)
    src = rng.uniform(0, 500, (40, 2))
    h = np.array([[1.05, 0.08, 12.0], [-0.03, 0.97, -7.0], [2e-4, -1e-4, 1.0]])
    moved = np.c_[src, np.ones(40)] @ h.T
    dst = moved[:, :2] / moved[:, 2:]
    np.testing.assert_allclose(liveness.fit_homography(src, dst), h, rtol=1e-6, atol=1e-8)


def test_the_batched_fit_gives_each_frames_own_homography_and_residual() -> None:
    """All frames fitted in one batched SVD give what one fit per frame gives."""
    rng = np.random.default_rng(11)
    first = rng.uniform(0, 500, (liveness.MESH_POINTS, 2))
    tracks = [first] + [first + rng.normal(0, 1.0 + i, first.shape) for i in range(5)]
    batched = liveness.fit_homographies(first, np.stack(tracks[1:]))
    unit = liveness.eye_distance(first)
    worst = []
    for points, h in zip(tracks[1:], batched, strict=True):
        np.testing.assert_allclose(h, liveness.fit_homography(first, points), atol=1e-9)
        moved = np.c_[first, np.ones(len(first))] @ h.T
        errors = np.linalg.norm(moved[:, :2] / moved[:, 2:] - points, axis=1)
        worst.append(np.sort(errors)[-6:].mean() / unit)
    assert liveness.rigid_residual(tracks) == pytest.approx(max(worst), rel=1e-9)
    assert liveness.rigid_residual(tracks[:1]) == 0.0


def _svd_dlt(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The textbook normalised DLT: the last right singular vector of the 2N x 9 matrix."""
    def normaliser(points):
        centre = points.mean(axis=0)
        scale = np.sqrt(2.0) / np.sqrt(((points - centre) ** 2).sum(axis=1).mean())
        return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]],
                         [0, 0, 1]])

    t_src, t_dst = normaliser(src), normaliser(dst)
    a = (np.c_[src, np.ones(len(src))] @ t_src.T)[:, :2]
    b = (np.c_[dst, np.ones(len(dst))] @ t_dst.T)[:, :2]
    rows = []
    for (x, y), (u, v) in zip(a, b, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    h = np.linalg.svd(np.asarray(rows), full_matrices=False)[2][-1].reshape(3, 3)
    full = np.linalg.inv(t_dst) @ h @ t_src
    return full / full[2, 2]


@pytest.mark.parametrize("seed", range(4))
def test_the_fit_from_moments_is_the_least_squares_dlt_of_the_full_matrix(seed) -> None:
    """AᵀA built from the points' moments gives the homography the SVD of the whole DLT
    matrix gives, on live, flat and noisy landmark sequences alike."""
    rng = np.random.default_rng(20 + seed)
    for tracks in (sim.blink(rng), sim.turn(rng, seed % 2 == 0),
                   sim.flat_picture(rng, moved=True)):
        for later in tracks[1:]:
            np.testing.assert_allclose(liveness.fit_homography(tracks[0], later),
                                       _svd_dlt(tracks[0], later), rtol=1e-7, atol=1e-10)


def test_the_challenge_is_drawn_from_the_configured_ones() -> None:
    assert liveness.choose(("turn_left",)) is Challenge.TURN_LEFT
    assert {liveness.choose(("blink", "turn_right"), draw) for draw in range(4)} == {
        Challenge.BLINK, Challenge.TURN_RIGHT}
    drawn = {liveness.choose(tuple(c.value for c in Challenge)) for _ in range(200)}
    assert drawn == set(Challenge)


def test_yaw_grows_as_the_wearer_turns_to_their_own_left() -> None:
    rng = np.random.default_rng(9)
    face = sim.face_model(rng)
    calm = sim.Scene(noise_px=0.0)
    yaws = [liveness.yaw_ratio(sim.project(sim.rotate_y(face, deg), calm, rng))
            for deg in (-30, 0, 30)]
    assert yaws[0] < -0.2 and abs(yaws[1]) < 0.05 and yaws[2] > 0.2


@pytest.mark.parametrize("box", [
    (30.4, 20.6, 70.3),  # inside the frame, downscaled
    (-12.3, -7.6, 60.2),  # over the top-left corner: clamped neighbours, black beyond
    (120.7, 90.2, 50.9),  # over the bottom-right corner
    (40.0, 30.0, 32.0),  # one frame pixel per model pixel: the pixels themselves
])
def test_the_landmark_crop_fills_the_models_buffer_as_pillow_scales_the_region(box) -> None:
    """Bilinear from the region to the model's size, 0..1, into the buffer the model reuses
    per frame, within 2 grey levels of Pillow's bilinear transform (8-bit weights and
    rounding, theirs and ours); a region off the frame is black."""
    from PIL import Image

    from firmware.face.landmarks import Region, crop

    rng = np.random.default_rng(12)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    x0, y0, side = box
    buffer = np.full((1, 32, 32, 3), 7.0, np.float32)
    got = crop(frame, Region(x0, y0, side), 32, out=buffer[0])
    expected = np.asarray(Image.fromarray(frame).transform(
        (32, 32), Image.Transform.EXTENT, (x0, y0, x0 + side, y0 + side),
        resample=Image.Resampling.BILINEAR), np.float32) / 255.0
    assert np.shares_memory(got, buffer)
    np.testing.assert_allclose(buffer[0], expected, atol=2.0 / 255 + 1e-6)
    assert np.abs(buffer[0] - expected).mean() < 0.75 / 255
    if side == 32.0 and float(x0).is_integer():
        np.testing.assert_allclose(buffer[0], frame[30:62, 40:72] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(crop(frame, Region(500.0, 500.0, 40.0), 32, out=buffer[0]),
                                  np.zeros((32, 32, 3), np.float32))


def test_the_region_read_is_the_faces_or_the_previous_landmarks() -> None:
    """``LandmarkModel.region`` is the region ``points`` and ``follow`` read (the bench
    times the crop on it)."""
    from firmware.face import manifest
    from firmware.face.detector import Detection
    from firmware.face.landmarks import LandmarkModel, Region
    from tests.firmware.face.conftest import MODELS

    spec = manifest.load(MODELS).model("face_landmarks")

    class Unused:
        def run(self, tensor: np.ndarray) -> list[np.ndarray]:
            raise AssertionError("no model run is needed for a region")

        def run_filled(self, fill) -> list[np.ndarray]:  # noqa: ANN001 - the protocol's
            raise AssertionError("no model run is needed for a region")

    model = LandmarkModel(Unused(), spec)
    face = Detection(box=(100.0, 80.0, 160.0, 150.0), score=0.9, keypoints=np.zeros((6, 2)))
    assert model.region(face, None) == Region.around(face, 1.5)
    previous = np.array([[10.0, 20.0], [50.0, 90.0]])
    assert model.region(face, previous) == Region.tracking(previous, 1.5)
    assert model.size == 192
    with pytest.raises(ValueError, match="needs a face"):
        model.region(None, None)


def test_an_rgbx_burst_is_judged_on_its_colours_alone() -> None:
    """The camera's fourth byte never changes, so it must not dilute the frames' difference."""
    import numpy as np

    from firmware.face import liveness, picture

    first = np.zeros((8, 8, 3), np.uint8)
    second = np.full((8, 8, 3), 1, np.uint8)  # differs by 1 grey level in every colour byte
    rgbx = [picture.rgbx(first), picture.rgbx(second)]
    assert not liveness.frozen(rgbx, [0.0, 0.1], min_change=0.9)
    assert liveness.frozen(rgbx, [0.0, 0.1], min_change=1.1)


@pytest.mark.parametrize("box", [
    (10.5, 5.25, 40.0),  # inside
    (30.7, 27.3, 40.0),  # down to the last row from right of the left edge (copied once)
    (-9.2, 30.1, 45.0),  # the last row from the left edge (mapped), off the left side
    (50.4, -8.8, 41.3),  # off the top and the right
    (-30.0, -30.0, 20.0),  # off the frame: black
])
def test_the_landmark_crop_reads_an_rgbx_frame_like_its_rgb_twin(box) -> None:
    """Bit for bit, however the RGBX part is read, and a non-contiguous RGB frame too."""
    from firmware.face import landmarks, picture

    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    region = landmarks.Region(*box)
    expected = landmarks.crop(frame, region, 16)
    camera = picture.rgbx(frame)
    assert np.array_equal(landmarks.crop(camera, region, 16), expected)
    camera.setflags(write=False)  # a camera buffer may be read-only: mapped all the same
    assert np.array_equal(landmarks.crop(camera, region, 16), expected)
    assert np.array_equal(landmarks.crop(np.asfortranarray(frame), region, 16), expected)


def test_the_landmark_crops_part_of_an_rgbx_frame_is_read_in_place() -> None:
    """The camera's RGBX frame is mapped, not copied: a pixel changed after mapping shows."""
    from firmware.face import picture

    frame = picture.rgbx(np.zeros((40, 50, 3), np.uint8))
    part = picture.part(frame, (10, 5, 30, 25))
    assert part.size == (20, 20) and part.readonly
    frame[7, 13, :3] = (200, 100, 50)
    assert part.getpixel((3, 2))[:3] == (200, 100, 50)


@pytest.mark.parametrize("bounds", [(0, 20, 30, 40), (10, 20, 30, 40), (0, 0, 50, 40)])
def test_every_way_of_reading_the_crops_part_gives_the_frames_pixels(bounds) -> None:
    from firmware.face import picture

    rng = np.random.default_rng(4)
    frame = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    left, top, right, bottom = bounds
    expected = frame[top:bottom, left:right]
    for way in (frame, picture.rgbx(frame), np.asfortranarray(frame)):
        part = picture.part(way, bounds)
        assert np.array_equal(np.asarray(part.convert("RGB")), expected)


def test_the_face_mesh_input_is_cropped_into_the_runners_own_buffer() -> None:
    """The crop is written into the runner's own buffer (``TfliteRunner.run_filled``); ``run``
    (a tensor for ``set_tensor`` to copy in) is never called."""
    from firmware.face import manifest
    from firmware.face.landmarks import LandmarkModel, Region, crop
    from tests.firmware.face.conftest import MODELS

    spec = manifest.load(MODELS).model("face_landmarks")
    buffer = np.full((192, 192, 3), 9.0, np.float32)

    class Filled:
        def run(self, tensor: np.ndarray) -> list[np.ndarray]:
            raise AssertionError("a filled runner's input is never copied in")

        def run_filled(self, fill) -> list[np.ndarray]:  # noqa: ANN001 - the protocol's
            fill(buffer)
            return [np.zeros((1, 1, 1, 1404), np.float32), np.full((1, 1, 1, 1), 9.0)]

    frame = np.random.default_rng(6).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    region = Region(40.3, 30.6, 150.2)
    points = LandmarkModel(Filled(), spec).points_in(frame, region)
    assert points is not None and points.shape == (468, 2)
    np.testing.assert_array_equal(buffer, crop(frame, region, 192))


def test_the_face_mesh_gives_the_same_points_filled_in_place_or_copied_in(photo) -> None:
    from firmware.face import manifest
    from firmware.face.backends.runner import TfliteRunner
    from firmware.face.landmarks import LandmarkModel, Region
    from tests.firmware.face.conftest import MODELS

    spec = manifest.load(MODELS).model("face_landmarks")
    runner = TfliteRunner(spec)

    class CopiedIn:  # filled into a tensor of its own, copied in by set_tensor (``run``)
        def run(self, tensor: np.ndarray) -> list[np.ndarray]:
            return runner.run(tensor)

        def run_filled(self, fill) -> list[np.ndarray]:  # noqa: ANN001 - the protocol's
            tensor = np.zeros((1, 192, 192, 3), np.float32)
            fill(tensor[0])
            return self.run(tensor)

    frame = photo("obama3")
    region = Region(frame.shape[1] * 0.25, frame.shape[0] * 0.1, frame.shape[1] * 0.5)
    filled = LandmarkModel(runner, spec).points_in(frame, region)
    copied = LandmarkModel(CopiedIn(), spec).points_in(frame, region)
    assert filled is not None and copied is not None
    np.testing.assert_array_equal(filled, copied)


def test_the_eye_aspect_ratios_of_a_burst_are_each_frames_own() -> None:
    """All frames at once give each frame's ratio (eyelid gaps over the eye's width, the two
    eyes' mean), and 0 for an eye of no width."""
    rng = np.random.default_rng(8)
    tracks = np.stack(sim.blink(rng))
    squashed = tracks[0].copy()
    for eye in (liveness.LEFT_EYE, liveness.RIGHT_EYE):
        squashed[list(eye)] = squashed[eye[0]]  # no width, no gap
    stack = np.concatenate([tracks, squashed[None]])

    def reference(points: np.ndarray) -> float:
        ratios = []
        for corner_a, up_a, up_b, corner_b, low_b, low_a in (liveness.RIGHT_EYE,
                                                               liveness.LEFT_EYE):
            width = np.linalg.norm(points[corner_a] - points[corner_b])
            gap = (np.linalg.norm(points[up_a] - points[low_a])
                   + np.linalg.norm(points[up_b] - points[low_b]))
            ratios.append(gap / (2.0 * width) if width > 1e-6 else 0.0)
        return float(np.mean(ratios))

    expected = [reference(points) for points in stack]
    np.testing.assert_allclose(liveness.eye_aspect_ratios(stack), expected, rtol=1e-12)
    assert liveness.eye_aspect_ratio(stack[0]) == pytest.approx(expected[0], rel=1e-12)
    assert expected[-1] == 0.0
