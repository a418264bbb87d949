"""Build a bundle: fieldcheck's wheel (+ dependency wheels), the models, the default config.

Every file is hashed into one manifest signed with a release key; the root metadata that lists
that key goes first. The output is written beside its final name and renamed into place, so a
half-written bundle never carries the final name.
"""

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.bundle import FileEntry, Manifest, check_path, sign_manifest
from fieldcheck_protocol.bundle_archive import write_bundle

logger = logging.getLogger(__name__)
PROJECT = Path(__file__).resolve().parents[2]
#: The unit's default config shipped as config/device.toml: models from the installed bundle.
DEFAULT_CONFIG = Path(__file__).with_name("device.toml")
_CHUNK = 1 << 20

#: ``progress(text)``: one line for the technician on the long parts.
Say = Callable[[str], None]


class BuildError(ValueError):
    """The bundle cannot be built; the message says what is missing and what to do."""


@dataclass(frozen=True)
class Inputs:
    """What goes into a bundle."""

    models_dir: Path = PROJECT / "models"
    config: Path = DEFAULT_CONFIG
    own_wheel: Path | None = None  # None: build it with `pip wheel --no-deps PROJECT`
    wheel_dir: Path | None = None  # dependency wheels (e.g. `pip download`/a pip cache)
    project: Path = PROJECT


def build_own_wheel(project: Path, into: Path, say: Say) -> Path:
    """fieldcheck's own wheel, built by pip from ``project`` into ``into``."""
    say(f"building the fieldcheck wheel (pip wheel --no-deps {project}) ...")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(into),
               str(project)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"pip wheel failed ({done.returncode}): {done.stderr.strip()[-600:]} "
                         "-> check that the project builds (`pip wheel --no-deps .`)")
    wheels = sorted(into.glob("fieldcheck-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"pip wheel made {len(wheels)} fieldcheck wheels in {into}, expected 1")
    return wheels[0]


def _models(models_dir: Path) -> dict[str, Path]:
    manifest_path = models_dir / "manifest.json"
    try:
        listed = json.loads(manifest_path.read_text(encoding="utf-8"))["models"]
        names = [str(entry["file"]) for entry in listed.values()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise BuildError(f"cannot read the model list in {manifest_path}: {err} -> pass "
                         "--models with a folder holding manifest.json (`make models`)") from None
    files = {"models/manifest.json": manifest_path}
    files.update({f"models/{name}": models_dir / name for name in names})
    # The self-test's known-answer embedding (models/build_known_answer.py), beside the manifest.
    if (models_dir / "known_answer.json").is_file():
        files["models/known_answer.json"] = models_dir / "known_answer.json"
    licences = models_dir / "LICENCES"
    if licences.is_dir():
        files.update({f"models/LICENCES/{p.name}": p for p in sorted(licences.iterdir())
                      if p.is_file()})
    return files


def collect(inputs: Inputs, scratch: Path, say: Say) -> dict[str, Path]:
    """Bundle path -> source file, for every file the bundle will hold."""
    own = inputs.own_wheel or build_own_wheel(inputs.project, scratch, say)
    files = {f"wheels/{own.name}": own}
    if inputs.wheel_dir is not None:
        extra = sorted(inputs.wheel_dir.glob("*.whl"))
        if not extra:
            raise BuildError(f"no .whl files in {inputs.wheel_dir} -> fill it with `pip download "
                             "-d DIR 'fieldcheck[device]'` on the unit's platform")
        files.update({f"wheels/{w.name}": w for w in extra if not w.name.startswith("fieldcheck-")})
    files.update(_models(inputs.models_dir))
    files["config/device.toml"] = inputs.config
    for path, source in files.items():
        check_path(path)
        if not source.is_file():
            raise BuildError(f"{source} is missing (for {path})")
    return files


def hash_file(source: Path) -> FileEntry:
    """sha256 and size of one file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(digest.hexdigest(), size)


def wheel_version(files: Mapping[str, Path]) -> str:
    """The version in fieldcheck's own wheel name (``fieldcheck-VERSION-...whl``)."""
    for path in files:
        name = path.rsplit("/", 1)[-1]
        if path.startswith("wheels/fieldcheck-"):
            return name.split("-")[1]
    raise BuildError("the bundle holds no fieldcheck wheel")


def make_manifest(files: Mapping[str, Path], version: str, counter: int, created: datetime,
                  lifetime: timedelta, say: Say) -> Manifest:
    """Hash every file into the manifest."""
    entries: dict[str, FileEntry] = {}
    for number, (path, source) in enumerate(sorted(files.items()), 1):
        entries[path] = hash_file(source)
        say(f"hashed {number}/{len(files)} {path} ({entries[path].size} bytes)")
    return Manifest(version, counter, created, created + lifetime, entries)


def write_file(out: Path, root_cose: bytes, manifest: Manifest, files: Mapping[str, Path],
               release_key: Ed25519PrivateKey) -> None:
    """Sign the manifest and write the bundle to ``out`` (refuses to replace an existing file)."""
    if out.exists():
        raise BuildError(f"{out} exists; refusing to overwrite (remove it or pick another --out)")
    manifest_cose = sign_manifest(manifest, release_key)
    fd, scratch = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)

    def source(path: str) -> BinaryIO:
        return files[path].open("rb")

    try:
        with os.fdopen(fd, "wb") as handle:
            write_bundle(handle, root_cose, manifest_cose, manifest, source)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(scratch, 0o644)
        os.link(scratch, out)  # never replaces a file that appeared meanwhile
    finally:
        os.unlink(scratch)
    logger.info("wrote bundle %s (%s, counter %s, %d files)", out, manifest.version,
                manifest.counter, len(manifest.files))
