"""dlib's ResNet as a TensorFlow graph: the traced function both TFLite conversions start from."""

from typing import Any

import numpy as np
import tensorflow as tf

from models import resnet
from models.dlib_reader import DlibNet


class TfOps:
    """``resnet.Ops`` in TensorFlow, with folded float32 constants."""

    def conv(self, x: tf.Tensor, kernel_hwio: np.ndarray, bias: np.ndarray, stride: int,
             pad: int) -> tf.Tensor:
        """Conv2D; dlib's paddings are exactly TF's VALID (0) or SAME (k // 2, stride 1)."""
        size = kernel_hwio.shape[0]
        if pad == 0:
            padding = "VALID"
        elif stride == 1 and pad == size // 2:
            padding = "SAME"
        else:
            raise ValueError(f"conv {size}x{size}/{stride} with padding {pad} has no TF twin")
        y = tf.nn.conv2d(x, tf.constant(kernel_hwio, tf.float32), stride, padding)
        return tf.nn.bias_add(y, tf.constant(bias, tf.float32))

    def relu(self, x: tf.Tensor) -> tf.Tensor:
        """max(x, 0)."""
        return tf.nn.relu(x)

    def pool(self, x: tf.Tensor, kind: str, size: int, stride: int) -> tf.Tensor:
        """VALID max or average pooling."""
        fn = tf.nn.max_pool2d if kind == "max_pool" else tf.nn.avg_pool2d
        return fn(x, size, stride, "VALID")

    def global_average(self, x: tf.Tensor) -> tf.Tensor:
        """Mean over height and width."""
        return tf.reduce_mean(x, axis=[1, 2])

    def add_padded(self, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        """Zero-pad the smaller operand at the end of each axis (static shapes), then add."""
        shape = [max(p, q) for p, q in zip(a.shape, b.shape, strict=True)]
        return _pad_to(a, shape) + _pad_to(b, shape)

    def dense(self, x: tf.Tensor, weights: np.ndarray) -> tf.Tensor:
        """x @ weights."""
        return tf.matmul(x, tf.constant(weights, tf.float32))


def _pad_to(x: tf.Tensor, shape: list[int]) -> tf.Tensor:
    pads = [[0, s - n] for n, s in zip(x.shape, shape, strict=True)]
    return x if not any(p[1] for p in pads) else tf.pad(x, pads)


def concrete_function(net: DlibNet) -> Any:
    """The float network as a traced function of one normalised chip, (1, 150, 150, 3)."""
    size = net.input_size
    spec = tf.TensorSpec([1, size[0], size[1], 3], tf.float32, name="chip")

    @tf.function(input_signature=[spec])
    def embed(chip: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"embedding": resnet.forward(net, chip, TfOps())}

    return embed.get_concrete_function()
