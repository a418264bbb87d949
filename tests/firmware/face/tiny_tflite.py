"""A tiny float32 TFLite "embedder" written with LiteRT's flatbuffer schema (no TensorFlow).

Its embedding is the first 128 values of the normalised chip (RESHAPE to one row, SLICE), so a
test knows exactly what a correct runner must return for any chip.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

SIZE = 150
DIM = 128


def model_bytes() -> bytes:
    """Float input (1, 150, 150, 3) named ``chip``; float output (1, 128) named ``Identity``."""
    def const(values: list[int]) -> Any:
        buffer = schema.BufferT()
        buffer.data = list(np.asarray(values, np.int32).tobytes())
        return buffer

    def tensor(name: str, shape: list[int], kind: int, buffer: int) -> Any:
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, shape, kind, buffer
        return t

    def op(code: int, inputs: list[int], outputs: list[int]) -> Any:
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = code, inputs, outputs
        return o

    codes = []
    for builtin in (schema.BuiltinOperator.RESHAPE, schema.BuiltinOperator.SLICE):
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, builtin, 1
        codes.append(code)
    f32, i32 = schema.TensorType.FLOAT32, schema.TensorType.INT32
    graph = schema.SubGraphT()
    graph.tensors = [
        tensor("chip", [1, SIZE, SIZE, 3], f32, 0),
        tensor("row_shape", [2], i32, 1),
        tensor("row", [1, SIZE * SIZE * 3], f32, 0),
        tensor("begin", [2], i32, 2),
        tensor("size", [2], i32, 3),
        tensor("Identity", [1, DIM], f32, 0),
    ]
    graph.inputs, graph.outputs = [0], [5]
    graph.operators = [op(0, [0, 1], [2]), op(1, [2, 3, 4], [5])]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, codes, [graph]
    # Buffer 0 is the conventional empty buffer of tensors without constant data.
    model.buffers = [schema.BufferT(), const([1, SIZE * SIZE * 3]), const([0, 0]),
                     const([1, DIM])]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def write_twin(folder: Path, key: str, int8_entry: dict[str, Any]) -> Path:
    """Write the tiny model and its sidecar (manifest format) into ``folder``; returns the model.

    The sidecar shares the int8 entry's source and normalisation, as models/build_float.py's does.
    """
    blob = model_bytes()
    path = folder / f"{key}.tflite"
    path.write_bytes(blob)
    spec = {"dtype": "float32", "quantization": None}
    entry = {
        "file": path.name, "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob),
        "version": "tiny test twin",
        "input": {"name": "chip", "shape": [1, SIZE, SIZE, 3]} | spec,
        "output": {"name": "Identity", "shape": [1, DIM]} | spec,
        "source": int8_entry["source"], "normalisation": int8_entry["normalisation"],
    }
    sidecar = {"schema": 1, "benchmark_only": "test", "models": {key: entry}}
    (folder / f"{key}.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return path
