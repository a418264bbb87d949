"""Read a dlib DNN file (dlib's own serialization) into numpy arrays, without dlib.

dlib writes a network from the loss layer inwards: the loss layer, then every wrapping layer's
version number (each one serialises its sub-network before its own details), then the input
layer, then each computational layer's details from the input side outwards. Integers use dlib's
variable-length encoding (a size/sign byte, then little-endian bytes), floats outside tensors are
a (mantissa, exponent) pair of such integers, and tensor data are raw little-endian float32.
Tag and skip layers carry only a version number: which tag a skip refers to is part of the C++
type, not the file, so the topology is rebuilt by resnet.py from the layer sequence.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Version numbers dlib writes for the three kinds of wrapper.
ADD_LAYER_VERSION = 2
INPUT_ADD_LAYER_VERSION = 3
TAG_OR_SKIP_VERSION = 1


class DlibFormatError(ValueError):
    """The bytes are not the dlib network layout this reader understands."""


@dataclass(frozen=True)
class Layer:
    """One computational layer: its dlib kind, its numbers and its parameter arrays."""

    kind: str
    attrs: dict[str, float] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class DlibNet:
    """A parsed metric-learning network: input spec, layers from input to output, loss."""

    input_kind: str
    mean_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: tuple[Layer, ...]
    #: Wrapper versions from the input side outwards ("L" layer, "t" tag or skip).
    wrappers: str
    loss_kind: str
    margin: float
    distance_threshold: float


class Reader:
    """A cursor over dlib-serialised bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int_(self) -> int:
        """dlib's packed integer: byte 0 holds the length (low nibble) and the sign (bit 7)."""
        head = self._take(1)[0]
        size = head & 0x0F
        if size > 8:
            raise DlibFormatError(f"integer of {size} bytes at offset {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if head & 0x80 else value

    def float_(self) -> float:
        """dlib's portable float: mantissa * 2**exponent, both packed integers."""
        mantissa, exponent = self.int_(), self.int_()
        if abs(exponent) > 2000:  # dlib marks inf/nan with out-of-range exponents
            raise DlibFormatError(f"non-finite float at offset {self.pos}")
        return float(mantissa) * 2.0**exponent

    def bool_(self) -> bool:
        """A bool is one ASCII character, '0' or '1'."""
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {char!r} at offset {self.pos - 1}")
        return char == b"1"

    def string(self) -> str:
        """A length-prefixed string."""
        return self._take(self.int_()).decode("ascii")

    def tensor(self) -> np.ndarray:
        """A version-2 tensor: version, num_samples, k, nr, nc, then float32 little endian."""
        version = self.int_()
        if version != 2:
            raise DlibFormatError(f"tensor version {version} at offset {self.pos}")
        shape = tuple(self.int_() for _ in range(4))
        count = int(np.prod(shape))
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An alias_tensor header (a view's shape into a layer's params): version, n, k, nr, nc."""
        version = self.int_()
        if version != 1:
            raise DlibFormatError(f"alias_tensor version {version} at offset {self.pos}")
        n, k, nr, nc = (self.int_() for _ in range(4))
        return n, k, nr, nc

    def expect(self, value: int, what: str) -> None:
        """Read an integer and insist on its value."""
        got = self.int_()
        if got != value:
            raise DlibFormatError(f"{what}: expected {value}, got {got} at offset {self.pos}")

    def _take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise DlibFormatError(f"file ends inside a value at offset {self.pos}")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk


def _con(r: Reader) -> Layer:
    params = r.tensor().ravel()
    num_filters, nr, nc, stride_y, stride_x, pad_y, pad_x = (r.int_() for _ in range(7))
    n, k, fr, fc = r.alias()
    r.alias()  # the bias view: num_filters values after the filters
    for _ in range(4):  # learning-rate and weight-decay multipliers: training only
        r.float_()
    filters = params[: n * k * fr * fc].reshape(n, k, fr, fc)
    biases = params[n * k * fr * fc:]
    if biases.size != num_filters or (fr, fc) != (nr, nc):
        raise DlibFormatError("con_ parameters do not match its declared shape")
    return Layer("con", {"stride_y": stride_y, "stride_x": stride_x, "pad_y": pad_y,
                         "pad_x": pad_x}, {"filters": filters, "biases": biases})


def _affine(r: Reader) -> Layer:
    params = r.tensor().ravel()
    r.alias()
    r.alias()
    mode = r.int_()
    half = params.size // 2
    return Layer("affine", {"mode": mode}, {"gamma": params[:half], "beta": params[half:]})


def _pool(kind: str) -> Callable[[Reader], Layer]:
    def parse(r: Reader) -> Layer:
        names = ("nr", "nc", "stride_y", "stride_x", "pad_y", "pad_x")
        return Layer(kind, {name: r.int_() for name in names})
    return parse


def _fc(r: Reader) -> Layer:
    num_outputs, num_inputs = r.int_(), r.int_()
    params = r.tensor().ravel()
    r.alias()
    r.alias()
    bias_mode = r.int_()  # 0: has bias, 1: no bias
    for _ in range(4):
        r.float_()
    weights = params[: num_inputs * num_outputs].reshape(num_inputs, num_outputs)
    arrays = {"weights": weights}
    if bias_mode == 0:
        arrays["biases"] = params[num_inputs * num_outputs:]
    return Layer("fc", {"num_outputs": num_outputs}, arrays)


#: Layer parsers by the version string dlib writes first in each layer's details.
PARSERS: dict[str, Callable[[Reader], Layer]] = {
    "con_4": _con,
    "affine_": _affine,
    "relu_": lambda r: Layer("relu"),
    "add_prev_": lambda r: Layer("add_prev"),
    "max_pool_2": _pool("max_pool"),
    "avg_pool_2": _pool("avg_pool"),
    "fc_2": _fc,
}


def _layer(r: Reader, trailing_tensors: int) -> Layer:
    name = r.string()
    if name not in PARSERS:
        raise DlibFormatError(f"unsupported layer {name!r} at offset {r.pos}")
    layer = PARSERS[name](r)
    for _ in range(3):  # setup-called, gradient-stale, output-disabled flags
        r.bool_()
    for _ in range(trailing_tensors):  # gradients and cached outputs: empty in a saved model
        r.tensor()
    return layer


def read_net(data: bytes) -> DlibNet:
    """Parse a ``loss_metric`` network over ``input_rgb_image_sized``."""
    r = Reader(data)
    r.expect(1, "add_loss_layer version")
    loss_kind = r.string()
    if loss_kind != "loss_metric_2":
        raise DlibFormatError(f"expected a loss_metric_2 network, found {loss_kind!r}")
    margin, threshold = r.float_(), r.float_()
    versions = []
    while (version := r.int_()) != INPUT_ADD_LAYER_VERSION:
        if version not in (ADD_LAYER_VERSION, TAG_OR_SKIP_VERSION):
            raise DlibFormatError(f"unexpected layer wrapper version {version}")
        versions.append(version)
    input_kind = r.string()
    mean = (r.float_(), r.float_(), r.float_())
    size = (r.int_(), r.int_())
    layers = [_layer(r, trailing_tensors=3)]
    r.int_()  # the input wrapper's sample expansion factor
    wrappers = "".join("L" if v == ADD_LAYER_VERSION else "t" for v in reversed(versions))
    layers += [_layer(r, trailing_tensors=3) for _ in range(wrappers.count("L"))]
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} bytes left after the last layer")
    return DlibNet(input_kind, mean, size, tuple(layers), "L" + wrappers, loss_kind, margin,
                   threshold)


def read_file(path: Path) -> DlibNet:
    """Parse a dlib network file."""
    return read_net(path.read_bytes())
