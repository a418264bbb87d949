"""The rebuilt network (numpy reference over our parsed weights) against dlib-bin itself."""

import numpy as np

from models import chips, resnet
from models.dlib_reader import DlibNet, Layer


def test_add_padded_zero_pads_the_smaller_operand_at_the_end() -> None:
    ops = resnet.NumpyOps()
    a = np.ones((1, 3, 3, 2))
    b = np.full((1, 4, 4, 1), 2.0)
    out = ops.add_padded(a, b)
    assert out.shape == (1, 4, 4, 2)
    assert out[0, 0, 0, 0] == 3.0  # both present
    assert out[0, 0, 0, 1] == 1.0  # b has no second channel
    assert out[0, 3, 3, 0] == 2.0  # a has no fourth row/column


def test_folded_affine_equals_conv_then_affine() -> None:
    rng = np.random.default_rng(1)
    filters = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    con = Layer("con", arrays={"filters": filters, "biases": rng.normal(size=4)})
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    affine = Layer("affine", arrays={"gamma": gamma, "beta": beta})
    x = rng.normal(size=(1, 6, 6, 3))
    ops = resnet.NumpyOps()
    plain = ops.conv(x, filters.transpose(2, 3, 1, 0).astype(np.float64),
                     con.arrays["biases"], 1, 1)
    folded = ops.conv(x, *resnet.fold_affine(con, affine), 1, 1)
    np.testing.assert_allclose(folded, plain * gamma + beta, rtol=1e-6, atol=1e-9)


def test_reference_matches_dlib_descriptors(
    dlib_net: DlibNet, sample_chips: list[chips.Chip], dlib_reference: np.ndarray
) -> None:
    batch = np.stack([c.pixels for c in sample_chips])
    ours = resnet.forward(dlib_net, resnet.normalise(batch, dlib_net.mean_rgb).astype(np.float64),
                          resnet.NumpyOps())
    assert ours.shape == (len(sample_chips), 128)
    np.testing.assert_allclose(ours, dlib_reference, atol=1e-5)
