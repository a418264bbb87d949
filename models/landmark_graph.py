"""MediaPipe's float face-mesh model rebuilt op by op in TensorFlow from its own flatbuffer.

The shipped ``face_landmark.tflite`` is a small graph (CONV_2D, DEPTHWISE_CONV_2D, PRELU, ADD,
MAX_POOL_2D, PAD, all float32). Its operators, options and weights are read with TensorFlow's
flatbuffer tools and replayed in order as TF ops, so the converter can quantise the same network
to full integer (``models.build_landmarks`` checks the rebuild against the .tflite). PReLU is
rebuilt from ops XNNPACK runs as QS8 (``_prelu``); everything else is the op itself.
"""

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

_OPS = {code: name for name, code in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")}
_DTYPES = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.INT32: np.int32}
_ACTIVATIONS = {schema.ActivationFunctionType.NONE: None,
                schema.ActivationFunctionType.RELU: tf.nn.relu,
                schema.ActivationFunctionType.RELU6: tf.nn.relu6}


class Graph:
    """The flatbuffer's one subgraph: operators in order, constant tensors as numpy arrays."""

    def __init__(self, path: Path) -> None:
        model = flatbuffer_utils.read_model(str(path))
        self.graph = model.subgraphs[0]
        self.model = model
        self.inputs = [int(i) for i in self.graph.inputs]
        self.outputs = [int(i) for i in self.graph.outputs]
        self.output_names = [self.graph.tensors[i].name.decode() for i in self.outputs]

    def op_name(self, op: Any) -> str:
        """The operator's builtin name (CONV_2D, ...)."""
        code = self.model.operatorCodes[op.opcodeIndex]
        return _OPS[max(int(code.builtinCode), int(code.deprecatedBuiltinCode))]

    def constant(self, index: int) -> np.ndarray | None:
        """A tensor's constant value (None: computed at run time)."""
        tensor = self.graph.tensors[index]
        data = self.model.buffers[tensor.buffer].data
        if data is None or len(data) == 0:
            return None
        raw = np.asarray(data, np.uint8).tobytes()
        return np.frombuffer(raw, _DTYPES[tensor.type]).reshape([int(n) for n in tensor.shape])

    def forward(self, image: tf.Tensor) -> list[tf.Tensor]:
        """The network on a (1, 192, 192, 3) float input: its outputs in the model's order."""
        values: dict[int, tf.Tensor] = {self.inputs[0]: image}
        for op in self.graph.operators:
            args = [self._value(values, int(i)) for i in op.inputs if int(i) >= 0]
            values[int(op.outputs[0])] = _apply(self.op_name(op), op.builtinOptions, args)
        return [values[i] for i in self.outputs]

    def _value(self, values: dict[int, tf.Tensor], index: int) -> Any:
        if index in values:
            return values[index]
        constant = self.constant(index)
        if constant is None:
            raise ValueError(f"tensor {index} is read before any operator writes it")
        return constant


def _padding(options: Any) -> str:
    return "SAME" if options.padding == schema.Padding.SAME else "VALID"


def _activate(x: tf.Tensor, options: Any) -> tf.Tensor:
    code = int(getattr(options, "fusedActivationFunction", 0))
    if code not in _ACTIVATIONS:
        raise ValueError(f"fused activation {code} has no TF twin here")
    fn = _ACTIVATIONS[code]
    return x if fn is None else fn(x)


def _prelu(z: tf.Tensor, alpha: np.ndarray) -> tf.Tensor:
    """PReLU as alpha z + (1 - alpha) / 2 relu(2 z): MULs by constants (one with RELU fused)
    and an ADD, every one of which XNNPACK runs as QS8. XNNPACK takes PRELU, and a RELU on its
    own, in float only, so a PRELU op (or RELU) in the int8 model would run on TFLite's
    reference kernels between 20-odd XNNPACK partitions: ten times slower than the float model.
    (relu(z) itself cannot fuse: z has two readers; 2 z has one.)
    """
    doubled = tf.nn.relu(z * tf.constant(2.0, tf.float32))
    return (tf.constant(alpha, tf.float32) * z
            + tf.constant((1.0 - alpha) / 2.0, tf.float32) * doubled)


def _apply(name: str, options: Any, args: list[Any]) -> tf.Tensor:
    """One TFLite builtin as TF ops (float32 constants)."""
    if name == "CONV_2D":
        x, kernel, bias = args
        hwio = tf.constant(np.transpose(kernel, (1, 2, 3, 0)), tf.float32)
        y = tf.nn.conv2d(x, hwio, [options.strideH, options.strideW], _padding(options),
                         dilations=[options.dilationHFactor, options.dilationWFactor])
        return _activate(tf.nn.bias_add(y, tf.constant(bias, tf.float32)), options)
    if name == "DEPTHWISE_CONV_2D":
        x, kernel, bias = args
        if options.depthMultiplier not in (0, 1):
            raise ValueError("depthwise multiplier > 1 has no twin here")
        hwc1 = tf.constant(np.transpose(kernel, (1, 2, 3, 0)), tf.float32)
        y = tf.nn.depthwise_conv2d(x, hwc1, [1, options.strideH, options.strideW, 1],
                                   _padding(options))
        return _activate(tf.nn.bias_add(y, tf.constant(bias, tf.float32)), options)
    if name == "PRELU":
        return _prelu(*args)
    if name == "ADD":
        a, b = args
        return _activate(tf.add(a, b), options)
    if name == "MAX_POOL_2D":
        (x,) = args
        return _activate(tf.nn.max_pool2d(
            x, [options.filterHeight, options.filterWidth],
            [options.strideH, options.strideW], _padding(options)), options)
    if name == "PAD":
        x, pads = args
        return tf.pad(x, tf.constant(pads, tf.int32))
    raise ValueError(f"operator {name} has no TF twin here")


def concrete_function(graph: Graph) -> Any:
    """The float network as a traced function of one (1, 192, 192, 3) image in 0..1."""
    shape = [int(n) for n in graph.graph.tensors[graph.inputs[0]].shape]
    spec = tf.TensorSpec(shape, tf.float32, name="input_1")

    @tf.function(input_signature=[spec])
    def mesh(image: tf.Tensor) -> dict[str, tf.Tensor]:
        return dict(zip(graph.output_names, graph.forward(image), strict=True))

    return mesh.get_concrete_function()
