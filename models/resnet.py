"""dlib's face-recognition ResNet as a walk over the parsed layers, for any tensor backend.

The file gives the layers in input-to-output order; the topology (from dlib's
dnn_face_recognition_ex.cpp) is a stem (con 7x7/2, affine, relu, max_pool 3x3/2), then residual
blocks ``con, affine, relu, con, affine, [avg_pool], add_prev, relu`` where the optional avg_pool
marks a down-sampling block whose shortcut is the block input pooled 2x2/2, then a global average
and a bias-free fc(128). Every affine (frozen batch norm) follows a con and is folded into it.
The same walk drives a numpy reference (``NumpyOps``, used by tests against dlib) and the
TensorFlow graph that the TFLite converter quantizes (``tf_network.TfOps``).
"""

from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np

from models.dlib_reader import DlibFormatError, DlibNet, Layer

T = TypeVar("T")


class Ops(Protocol[T]):
    """The handful of tensor operations the network needs (NHWC layout)."""

    def conv(self, x: T, kernel_hwio: np.ndarray, bias: np.ndarray, stride: int,
             pad: int) -> T:
        """2-D convolution with symmetric zero padding ``pad``."""
        ...

    def relu(self, x: T) -> T:
        """max(x, 0)."""
        ...

    def pool(self, x: T, kind: str, size: int, stride: int) -> T:
        """Max or average pooling without padding."""
        ...

    def global_average(self, x: T) -> T:
        """Mean over height and width: (N, H, W, C) -> (N, C)."""
        ...

    def add_padded(self, a: T, b: T) -> T:
        """a + b, the smaller zero-padded at the end of each axis (dlib's add_prev)."""
        ...

    def dense(self, x: T, weights: np.ndarray) -> T:
        """x @ weights, no bias."""
        ...


def fold_affine(con: Layer, affine: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``affine(con(x))`` into one convolution: HWIO kernel and bias, in float64."""
    gamma = affine.arrays["gamma"].astype(np.float64)
    beta = affine.arrays["beta"].astype(np.float64)
    filters = con.arrays["filters"].astype(np.float64)  # OIHW, dlib's layout
    kernel = filters.transpose(2, 3, 1, 0) * gamma  # HWIO, scaled per output channel
    bias = con.arrays["biases"].astype(np.float64) * gamma + beta
    return kernel, bias


class _Cursor:
    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = layers
        self.i = 0

    def peek(self) -> str:
        return self.layers[self.i].kind if self.i < len(self.layers) else ""

    def take(self, kind: str) -> Layer:
        layer = self.layers[self.i] if self.i < len(self.layers) else Layer("end of file")
        if layer.kind != kind:
            raise DlibFormatError(f"layer {self.i}: expected {kind}, found {layer.kind}")
        self.i += 1
        return layer


def _conv_affine(cur: _Cursor, x: T, ops: Ops[T]) -> T:
    con = cur.take("con")
    kernel, bias = fold_affine(con, cur.take("affine"))
    if con.attrs["stride_y"] != con.attrs["stride_x"] or con.attrs["pad_y"] != con.attrs["pad_x"]:
        raise DlibFormatError("non-square stride or padding is not supported")
    return ops.conv(x, kernel, bias, int(con.attrs["stride_y"]), int(con.attrs["pad_y"]))


def _pool(cur: _Cursor, x: T, kind: str, ops: Ops[T]) -> T:
    layer = cur.take(kind)
    if layer.attrs["pad_y"] or layer.attrs["pad_x"] or layer.attrs["nr"] != layer.attrs["nc"]:
        raise DlibFormatError(f"{kind}: only square windows without padding are supported")
    return ops.pool(x, kind, int(layer.attrs["nr"]), int(layer.attrs["stride_y"]))


def _residual_block(cur: _Cursor, x: T, ops: Ops[T]) -> T:
    y = _conv_affine(cur, x, ops)
    cur.take("relu")
    y = _conv_affine(cur, ops.relu(y), ops)
    shortcut = _pool(cur, x, "avg_pool", ops) if cur.peek() == "avg_pool" else x
    cur.take("add_prev")
    cur.take("relu")
    return ops.relu(ops.add_padded(y, shortcut))


def forward(net: DlibNet, x: T, ops: Ops[T]) -> T:
    """Run the network on a normalised NHWC batch: (x - mean) / 256, RGB, 150x150."""
    cur = _Cursor(net.layers)
    x = _conv_affine(cur, x, ops)
    cur.take("relu")
    x = _pool(cur, ops.relu(x), "max_pool", ops)
    while cur.peek() == "con":
        x = _residual_block(cur, x, ops)
    everything = cur.take("avg_pool")
    if everything.attrs["nr"] or everything.attrs["nc"]:
        raise DlibFormatError("expected avg_pool_everything before the fc layer")
    fc = cur.take("fc")
    if "biases" in fc.arrays:
        raise DlibFormatError("expected a bias-free fc layer")
    if cur.i != len(net.layers):
        raise DlibFormatError(f"{len(net.layers) - cur.i} layers left after the fc layer")
    return ops.dense(ops.global_average(x), fc.arrays["weights"])


def normalise(chips_rgb: np.ndarray, mean_rgb: Sequence[float]) -> np.ndarray:
    """dlib's input_rgb_image_sized: (pixel - channel mean) / 256, as float32 NHWC."""
    return ((chips_rgb.astype(np.float32) - np.asarray(mean_rgb, np.float32)) / 256.0)


class NumpyOps:
    """A float64 numpy implementation of ``Ops``: slow but plain, the reference for tests."""

    def conv(self, x: np.ndarray, kernel_hwio: np.ndarray, bias: np.ndarray, stride: int,
             pad: int) -> np.ndarray:
        """Convolution via strided windows and einsum."""
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        kh, kw = kernel_hwio.shape[:2]
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
        windows = windows[:, ::stride, ::stride]
        return np.einsum("nhwcij,ijco->nhwo", windows, kernel_hwio, optimize=True) + bias

    def relu(self, x: np.ndarray) -> np.ndarray:
        """max(x, 0)."""
        return np.maximum(x, 0.0)

    def pool(self, x: np.ndarray, kind: str, size: int, stride: int) -> np.ndarray:
        """Max or average pooling, valid windows only."""
        windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
        windows = windows[:, ::stride, ::stride]
        reduce = np.max if kind == "max_pool" else np.mean
        return np.asarray(reduce(windows, axis=(-2, -1)))

    def global_average(self, x: np.ndarray) -> np.ndarray:
        """Mean over height and width."""
        return np.asarray(x.mean(axis=(1, 2)))

    def add_padded(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Zero-pad both to the larger shape at the end of each axis, then add."""
        shape = np.maximum(a.shape, b.shape)
        return _pad_to(a, shape) + _pad_to(b, shape)

    def dense(self, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """x @ weights."""
        return np.asarray(x @ weights.astype(np.float64))


def _pad_to(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    return np.pad(x, [(0, int(s) - n) for n, s in zip(x.shape, shape, strict=True)])
