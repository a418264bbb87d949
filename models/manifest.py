"""Read and update models/manifest.json, the contract between the model build and the firmware."""

import hashlib
import json
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parent
MANIFEST = MODELS_DIR / "manifest.json"
SCHEMA = 1


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large files need little memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact(path: Path) -> dict[str, Any]:
    """The file, sha256 and bytes fields that start every model entry."""
    return {"file": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size}


def load(path: Path = MANIFEST) -> dict[str, Any]:
    """The manifest as a dict, or an empty one of the current schema when none exists yet."""
    if not path.is_file():
        return {"schema": SCHEMA, "models": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema')!r}, this build writes {SCHEMA}")
    return data


def update_entry(key: str, entry: dict[str, Any], path: Path = MANIFEST) -> None:
    """Replace one model's entry, keeping the others, and write the file deterministically."""
    data = load(path)
    data["models"][key] = entry
    data["models"] = dict(sorted(data["models"].items()))
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def tensor_specs(model_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Input and output tensor specs of a .tflite file as the device runtime reports them."""
    from ai_edge_litert.interpreter import Interpreter  # the device's own runtime

    interpreter = Interpreter(model_path=str(model_path))
    return (
        [_spec(d) for d in interpreter.get_input_details()],
        [_spec(d) for d in interpreter.get_output_details()],
    )


def _spec(detail: dict[str, Any]) -> dict[str, Any]:
    scale, zero_point = detail["quantization"]
    return {
        "name": detail["name"],
        "shape": [int(n) for n in detail["shape"]],
        "dtype": detail["dtype"].__name__,
        # (0.0, 0) is how TFLite says "not quantized".
        "quantization": [float(scale), int(zero_point)] if scale else None,
    }
