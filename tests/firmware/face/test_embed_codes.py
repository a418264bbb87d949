"""The embedder's coded input (issue 13: embed within reach of its bare invoke): a chip's bytes
become the int8 model input by one table look-up written into the interpreter's own buffer,
and that gives the very codes, so the very embeddings, of normalising then quantising."""

import numpy as np
import pytest

from firmware.face import align, manifest
from firmware.face.backends.runner import TfliteRunner
from firmware.face.pipeline import Embedder
from tests.firmware.face.conftest import MODELS


@pytest.fixture(scope="module")
def embedder(engine) -> Embedder:  # engine: skips when the models are not built
    spec = manifest.load(MODELS).model(manifest.EMBEDDER)
    return Embedder(TfliteRunner(spec, num_threads=1), spec)


def _plain(embedder: Embedder, chip: np.ndarray) -> np.ndarray:
    """The embedding the way it was made before: a float tensor, quantised by the runner."""
    return embedder.runner.run(embedder.model_input(chip))[0].reshape(-1).astype(np.float32)


def test_the_code_table_holds_the_quantised_input_of_every_channel_and_level(embedder) -> None:
    runner = embedder.runner
    assert isinstance(runner, TfliteRunner)
    levels = np.arange(256, dtype=np.uint8)
    for channel in range(3):
        pixels = np.zeros((256, 1, 3), np.uint8)
        pixels[:, 0, channel] = levels
        expected = runner.input_codes(embedder.model_input(pixels))[0, :, 0, channel]
        assert expected.dtype == np.int8
        np.testing.assert_array_equal(embedder._codes[channel * 256:(channel + 1) * 256],
                                      expected)


def test_coded_chips_embed_bit_for_bit_as_the_quantised_tensor_did(embedder, engine, photo
                                                                   ) -> None:
    chips = [align.chip(photo(stem), engine.pipeline.detector.detect(photo(stem))[0].keypoints)
             for stem in ("obama", "biden")]
    rng = np.random.default_rng(11)
    chips += [rng.integers(0, 256, (150, 150, 3)).astype(np.uint8) for _ in range(3)]
    chips += [np.zeros((150, 150, 3), np.uint8), np.full((150, 150, 3), 255, np.uint8)]
    for chip in chips:
        np.testing.assert_array_equal(embedder.embed(chip), _plain(embedder, chip))


def test_a_chip_that_is_not_uint8_takes_the_tensor_path(embedder, engine, photo) -> None:
    frame = photo("obama2")
    chip = align.chip(frame, engine.pipeline.detector.detect(frame)[0].keypoints)
    np.testing.assert_array_equal(embedder.embed(chip.astype(np.float32)), embedder.embed(chip))
