"""Which XNNPACK path a loaded model runs: delegated partitions, ops left on TFLite's kernels, and
the tensor types the delegated ops see (int8 with per-channel weight scales = XNNPACK's QS8/QC8
kernels; uint8 = QU8; float32 = F32).

A node XNNPACK takes is replaced by a DELEGATE node; the nodes it refuses keep running on
TFLite's builtin kernels between partitions. The interpreter lists both kinds; a builtin node is
one whose outputs feed a partition (or the model output) without being a partition's output.
"""

from collections import Counter
from typing import Any

import numpy as np

from firmware.face.backends.runner import TfliteRunner

#: What XNNPACK calls its kernels, by the tensor type of the delegated ops.
_PATHS = {
    "int8": "QS8 (signed int8 activations; per-channel int8 weights use the QC8 kernels)",
    "uint8": "QU8 (unsigned int8, per-tensor)",
    "float32": "F32",
}


def report(runner: TfliteRunner) -> dict[str, Any]:
    """Partitions, delegated and builtin op counts, and the XNNPACK path of ``runner``'s model."""
    nodes = runner.ops()
    if not nodes:
        return {"error": f"{runner.runtime} does not list the interpreter's nodes"}
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    feeds = {int(t) for n in delegates for t in n["inputs"]}
    produced = {int(t) for n in delegates for t in n["outputs"]}
    sinks = feeds | runner.output_indices()
    builtin: Counter[str] = Counter()
    delegated: Counter[str] = Counter()
    for node in nodes:
        if node["op_name"] == "DELEGATE":
            continue
        outputs = {int(t) for t in node["outputs"]}
        on_builtin = not delegates or (outputs & sinks and not outputs & produced)
        (builtin if on_builtin else delegated)[str(node["op_name"])] += 1
    kind = np.dtype(runner.spec.inputs[0].dtype).name
    return {
        "xnnpack_partitions": len(delegates),
        "delegated_ops": dict(delegated),
        "builtin_ops": dict(builtin),
        "input_dtype": kind,
        "xnnpack_path": _PATHS.get(kind, kind) if delegates else "none (no XNNPACK delegate)",
        "why": _why(kind, builtin),
    }


def _why(kind: str, builtin: Counter[str]) -> str:
    if kind != "int8":
        return f"the model's tensors are {kind}"
    text = ("every tensor is int8 with symmetric per-channel weight scales (full-integer "
            "post-training quantisation), which XNNPACK runs on its QS8/QC8 kernels")
    if builtin:
        left = ", ".join(f"{count} {op}" for op, count in sorted(builtin.items()))
        text += (f"; XNNPACK did not take {left} (quantised), which run on TFLite's own int8 "
                 "kernels between its partitions")
    return text
