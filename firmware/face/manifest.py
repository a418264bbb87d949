"""Read models/manifest.json: model files, hashes, tensor specs, normalisation and threshold."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.errors import VerifyError

SCHEMA = 1
EMBEDDER = "face_embedder"
DETECTOR = "face_detector"


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape, dtype and (scale, zero point) of one model tensor."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: tuple[float, int] | None

    @classmethod
    def parse(cls, data: Mapping[str, Any], where: str) -> "TensorSpec":
        """Build from a manifest tensor entry."""
        try:
            quant = data.get("quantization")
            return cls(
                name=str(data["name"]),
                shape=tuple(int(n) for n in data["shape"]),
                dtype=str(data["dtype"]),
                quantization=(float(quant[0]), int(quant[1])) if quant else None,
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise VerifyError(f"manifest {where}: bad tensor spec ({err!r})", _REBUILD) from err


@dataclass(frozen=True)
class ModelSpec:
    """One model entry: where its file is, what it must hash to, what its tensors must be."""

    key: str
    path: Path
    sha256: str
    size: int
    version: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    extra: Mapping[str, Any]


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest: its folder and the model entries by key."""

    folder: Path
    models: Mapping[str, ModelSpec]

    def model(self, key: str) -> ModelSpec:
        """The entry for ``key``, or a VerifyError that says the model is missing."""
        if key not in self.models:
            raise VerifyError(
                f"{self.folder / 'manifest.json'} has no {key!r} model",
                f"install the model bundle that contains it (known: {', '.join(self.models)})",
            )
        return self.models[key]


_REBUILD = "reinstall the model bundle or rebuild it with `make models`"


def load(folder: Path, name: str = "manifest.json") -> Manifest:
    """Parse ``folder/name``; a missing or malformed file is a VerifyError."""
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise VerifyError(f"model manifest {path} not found", _REBUILD) from err
    except (OSError, json.JSONDecodeError) as err:
        raise VerifyError(f"model manifest {path} unreadable: {err}", _REBUILD) from err
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        raise VerifyError(
            f"model manifest {path} has schema {found!r}, "
            f"this firmware reads schema {SCHEMA}",
            "install the model bundle that matches this firmware",
        )
    models = {key: _entry(folder, key, entry) for key, entry in data.get("models", {}).items()}
    return Manifest(folder=folder, models=models)


def _entry(folder: Path, key: str, entry: Mapping[str, Any]) -> ModelSpec:
    try:
        outputs = entry.get("outputs") or [entry["output"]]
        return ModelSpec(
            key=key,
            path=folder / str(entry["file"]),
            sha256=str(entry["sha256"]).lower(),
            size=int(entry["bytes"]),
            version=str(entry.get("version", "")),
            inputs=(TensorSpec.parse(entry["input"], f"{key}.input"),),
            outputs=tuple(TensorSpec.parse(o, f"{key}.outputs") for o in outputs),
            extra=entry,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise VerifyError(f"manifest entry {key!r} is incomplete ({err!r})", _REBUILD) from err


def verify_file(spec: ModelSpec) -> bytes:
    """Read the model file and check its size and sha256; returns the bytes."""
    try:
        blob = spec.path.read_bytes()
    except OSError as err:
        raise VerifyError(f"model file {spec.path} cannot be read: {err}", _REBUILD) from err
    digest = hashlib.sha256(blob).hexdigest()
    if len(blob) != spec.size or digest != spec.sha256:
        raise VerifyError(
            f"model file {spec.path} does not match the manifest "
            f"(sha256 {digest[:12]}.., {len(blob)} bytes; expected {spec.sha256[:12]}.., "
            f"{spec.size} bytes)",
            "the file is corrupt or from another build: " + _REBUILD,
        )
    return blob


def check_tensors(
    spec: ModelSpec, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]
) -> None:
    """Refuse a model whose tensors differ from the manifest (by name, shape, dtype, quant)."""
    problems = _diff("input", spec.inputs, inputs) + _diff("output", spec.outputs, outputs)
    if problems:
        raise VerifyError(
            f"model {spec.path.name} tensors do not match the manifest: {'; '.join(problems)}",
            _REBUILD,
        )


def _diff(kind: str, expected: Sequence[TensorSpec], actual: Sequence[TensorSpec]) -> list[str]:
    if len(expected) != len(actual):
        return [f"{len(actual)} {kind}s, manifest says {len(expected)}"]
    by_name = {t.name: t for t in actual}
    problems = []
    for want in expected:
        got = by_name.get(want.name)
        if got is None:
            problems.append(f"no {kind} named {want.name!r}")
        elif (got.shape, got.dtype) != (want.shape, want.dtype):
            problems.append(
                f"{kind} {want.name!r} is {got.dtype}{list(got.shape)}, "
                f"manifest says {want.dtype}{list(want.shape)}"
            )
        elif not _same_quant(want.quantization, got.quantization):
            problems.append(
                f"{kind} {want.name!r} quantization {got.quantization}, "
                f"manifest says {want.quantization}"
            )
    return problems


def _same_quant(a: tuple[float, int] | None, b: tuple[float, int] | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a[0] - b[0]) <= 1e-6 * max(abs(a[0]), 1e-12) and a[1] == b[1]


#: Where a unit reads its models: the models/ of the installed bundle's current A/B slot.
DEVICE_MODELS = Path("/opt/fieldcheck/current/models")


def default_models_dir() -> Path:
    """The checkout's models/ when running from a development tree, else the unit's folder."""
    checkout = Path(__file__).resolve().parents[2] / "models"
    return checkout if (checkout / "manifest.json").is_file() else DEVICE_MODELS
