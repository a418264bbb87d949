"""dlib serialization reader: primitive encodings on hand-made bytes, and the real model file."""

import numpy as np
import pytest

from models.dlib_reader import DlibFormatError, DlibNet, Reader


def test_packed_integers_carry_length_and_sign_in_the_first_byte() -> None:
    r = Reader(bytes([0x01, 0x96, 0x02, 0x80, 0x12, 0x81, 0x1C, 0x00]))
    assert [r.int_(), r.int_(), r.int_(), r.int_()] == [150, 0x1280, -28, 0]


def test_portable_float_is_mantissa_times_two_to_the_exponent() -> None:
    # 0.6 as dlib writes it: mantissa 0x99999a (3 bytes), exponent -24.
    r = Reader(bytes([0x03, 0x9A, 0x99, 0x99, 0x81, 0x18]))
    assert r.float_() == pytest.approx(0.6, abs=1e-7)


def test_strings_bools_and_tensors() -> None:
    data = bytes([0x01, 0x05]) + b"relu_" + b"10"
    data += bytes([0x01, 0x02, 0x01, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01])
    data += np.array([1.5, -2.0], dtype="<f4").tobytes()
    r = Reader(data)
    assert r.string() == "relu_"
    assert (r.bool_(), r.bool_()) == (True, False)
    np.testing.assert_array_equal(r.tensor().ravel(), [1.5, -2.0])


def test_truncated_and_malformed_input_is_refused() -> None:
    with pytest.raises(DlibFormatError, match="ends inside"):
        Reader(bytes([0x02, 0x01])).int_()
    with pytest.raises(DlibFormatError, match="bad bool"):
        Reader(b"x").bool_()
    with pytest.raises(DlibFormatError, match="tensor version"):
        Reader(bytes([0x01, 0x01])).tensor()


def test_real_model_file_parses_to_the_published_network(dlib_net: DlibNet) -> None:
    kinds = [layer.kind for layer in dlib_net.layers]
    assert dlib_net.input_kind == "input_rgb_image_sized"
    assert dlib_net.input_size == (150, 150)
    np.testing.assert_allclose(dlib_net.mean_rgb, (122.782, 117.001, 104.298), atol=1e-4)
    assert dlib_net.distance_threshold == pytest.approx(0.6)
    assert (kinds.count("con"), kinds.count("affine"), kinds.count("add_prev")) == (29, 29, 14)
    first, fc = dlib_net.layers[0], dlib_net.layers[-1]
    assert first.arrays["filters"].shape == (32, 3, 7, 7)
    assert (first.attrs["stride_y"], first.attrs["pad_y"]) == (2, 0)
    assert fc.kind == "fc" and fc.arrays["weights"].shape == (256, 128)
    assert "biases" not in fc.arrays
    # 14 residual blocks: one tag each, plus a tag and a skip for the 4 down-sampling ones.
    assert dlib_net.wrappers.count("t") == 14 + 2 * 4
