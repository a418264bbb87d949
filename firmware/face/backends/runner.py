"""One TFLite runner for ai_edge_litert (preferred) or tflite_runtime, chosen at run time.

The C++ runtime writes to file descriptor 2 directly (e.g. "INFO: Created TensorFlow Lite XNNPACK
delegate for CPU." when tensors are allocated), past Python's logging. While a model loads, that
descriptor is captured and each line handed to our logger instead: INFO lines at debug, anything
else as a warning, so a user sees no runtime banner but never loses a runtime error.
"""

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from firmware.errors import VerifyError
from firmware.face.manifest import ModelSpec, TensorSpec, check_tensors, verify_file

logger = logging.getLogger(__name__)

Runtime = Literal["auto", "ai_edge_litert", "tflite_runtime"]

_INSTALL = (
    "install ai-edge-litert (pip install ai-edge-litert, the fieldcheck[device] extra) or, "
    "where no wheel exists, tflite-runtime==2.14 with numpy<2"
)


def interpreter_class(runtime: Runtime) -> tuple[Any, str]:
    """The Interpreter class of the chosen runtime and its name; ``auto`` prefers LiteRT."""
    if runtime in ("auto", "ai_edge_litert"):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            if runtime == "ai_edge_litert":
                raise VerifyError("runtime ai_edge_litert is not installed", _INSTALL) from None
        else:
            return Interpreter, "ai_edge_litert"
    try:
        from tflite_runtime.interpreter import Interpreter
    except ImportError:
        raise VerifyError("no TFLite runtime is installed", _INSTALL) from None
    return Interpreter, "tflite_runtime"


#: fd 2 is one per process: loads on two threads must not swap each other's capture.
_STDERR_LOCK = threading.Lock()


@contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Capture what native code writes on fd 2 inside the block and log it line by line."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all (closed by the caller): nothing to keep quiet
            yield
            return
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:  # also when loading failed: the runtime's own words may say why
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            _log_native(sink.read().decode("utf-8", errors="replace"))


def _log_native(text: str) -> None:
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        if line.startswith("INFO:"):
            logger.debug("TFLite runtime: %s", line)
        else:
            logger.warning("TFLite runtime: %s", line)


class TfliteRunner:
    """A verified model ready to run: float in, float out, (de)quantising int8 tensors itself.

    The model bytes are hashed and loaded from the same read, so the file checked is the file
    run. Not thread-safe: give each thread its own runner.
    """

    def __init__(self, spec: ModelSpec, num_threads: int = 1, runtime: Runtime = "auto") -> None:
        blob = verify_file(spec)
        cls, self.runtime = interpreter_class(runtime)
        try:
            with native_stderr_to_log():
                self._interpreter = cls(model_content=blob, num_threads=num_threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise VerifyError(f"{spec.path.name} cannot be loaded by {self.runtime}: {err}",
                              "the model bundle is damaged; reinstall it") from err
        self._inputs = self._interpreter.get_input_details()
        outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        check_tensors(
            spec,
            [_spec(d) for d in self._inputs],
            [_spec(d) for d in outputs.values()],
        )
        # Outputs in the manifest's order, whatever order the interpreter lists them in.
        self._outputs = [outputs[t.name] for t in spec.outputs]
        self.spec = spec
        logger.debug("loaded %s with %s, %d thread(s)", spec.path.name, self.runtime, num_threads)

    @property
    def input_spec(self) -> TensorSpec:
        """The (single) input tensor's spec."""
        return self.spec.inputs[0]

    def run(self, tensor: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        """Run once on a float tensor of the input shape; outputs as floats, manifest order."""
        detail = self._inputs[0]
        self._interpreter.set_tensor(detail["index"], _quantise(tensor, detail))
        return self._invoked()

    def run_filled(
        self, fill: Callable[[NDArray[np.float32]], object]
    ) -> list[NDArray[np.float32]]:
        """Run once on the input ``fill`` writes (one (H, W, C) float image), outputs as ``run``.

        A float input is written straight into the interpreter's own input buffer (no tensor to
        build, nothing for set_tensor to copy); a quantised one is filled as floats and
        quantised in. ``fill`` must not keep the array: the interpreter refuses to run while
        a view of its buffers is alive.
        """
        detail = self._inputs[0]
        if detail["quantization"][0]:
            scratch = np.empty(tuple(detail["shape"]), np.float32)
            fill(scratch[0])
            return self.run(scratch)
        return self.run_coded(fill)  # a float input's codes are its floats

    def input_codes(self, tensor: NDArray[np.float32]) -> NDArray[Any]:
        """``tensor`` as the input tensor holds it: quantised for an int8 input, else as is."""
        return _quantise(tensor, self._inputs[0])

    def run_coded(self, fill: Callable[[NDArray[Any]], object]) -> list[NDArray[np.float32]]:
        """Run once on the input ``fill`` writes already coded (see :meth:`input_codes`: int8
        for a quantised model) straight into the interpreter's own (H, W, C) input buffer;
        outputs as :meth:`run`. ``fill`` must not keep the array (see :meth:`run_filled`)."""
        fill(self._interpreter.tensor(self._inputs[0]["index"])()[0])
        return self._invoked()

    def _invoked(self) -> list[NDArray[np.float32]]:
        """Invoke on the input already in place; outputs as floats, manifest order."""
        self._interpreter.invoke()
        return [_dequantise(self._interpreter.get_tensor(d["index"]), d) for d in self._outputs]

    def bare_invoke(self, tensor: NDArray[np.float32]) -> Callable[[], None]:
        """A call running the model alone on ``tensor`` (quantised once, outputs not read).

        The bench times it beside :meth:`run` and the stage around it: the model's own cost."""
        detail = self._inputs[0]
        raw = _quantise(tensor, detail)
        interpreter = self._interpreter

        def invoke() -> None:
            interpreter.set_tensor(detail["index"], raw)
            interpreter.invoke()

        return invoke

    def ops(self) -> list[dict[str, Any]]:
        """The interpreter's nodes (op name, input and output tensors), delegate nodes included;
        empty when the runtime does not list them."""
        listing = getattr(self._interpreter, "_get_ops_details", None)
        return list(listing()) if listing is not None else []

    def output_indices(self) -> set[int]:
        """Tensor indices of the model outputs."""
        return {int(d["index"]) for d in self._outputs}


def _quantise(tensor: NDArray[np.float32], detail: dict[str, Any]) -> NDArray[Any]:
    dtype = detail["dtype"]
    scale, zero_point = detail["quantization"]
    if not scale:
        return np.ascontiguousarray(tensor, dtype=dtype)
    info = np.iinfo(dtype)
    quantised = np.round(tensor / scale) + zero_point
    return np.clip(quantised, info.min, info.max).astype(dtype)


def _dequantise(tensor: NDArray[Any], detail: dict[str, Any]) -> NDArray[np.float32]:
    scale, zero_point = detail["quantization"]
    if not scale:
        return np.asarray(tensor, dtype=np.float32)
    return ((tensor.astype(np.float32) - zero_point) * scale).astype(np.float32)


def _spec(detail: dict[str, Any]) -> TensorSpec:
    scale, zero_point = detail["quantization"]
    return TensorSpec(
        name=str(detail["name"]),
        shape=tuple(int(n) for n in detail["shape"]),
        dtype=np.dtype(detail["dtype"]).name,
        # (0.0, 0) is how TFLite says "not quantised".
        quantization=(float(scale), int(zero_point)) if scale else None,
    )
