"""The bundle file: a POSIX tar whose first members are the signed root and manifest.

Member order: ``root.cose``, ``manifest.cose``, then every file the manifest lists, in its
(sorted) order, as plain regular files. Reading is streaming and checks as it goes: the metadata
is verified before a single file byte is read, a member the manifest does not list, a size or a
sha256 that differs, a link or a device node refuse the whole bundle. Both ends work on file
objects the caller opened; this module opens nothing itself.
"""

import hashlib
import io
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from fieldcheck_protocol.bundle import (
    MAX_METADATA_BYTES,
    BundleCode,
    BundleError,
    Manifest,
    RootMetadata,
    Trusted,
    check_metadata,
)

ROOT_MEMBER = "root.cose"
MANIFEST_MEMBER = "manifest.cose"
_CHUNK = 1 << 16

#: Called as ``progress(path, bytes_done, bytes_total)`` while files are read or written.
Progress = Callable[[str, int, int], None]
#: Opens the destination of one verified-so-far file (the caller's slot), or None to discard.
Sink = Callable[[str], BinaryIO] | None


@dataclass(frozen=True)
class Opened:
    """A bundle read to its end and found whole: its root metadata, manifest and raw metadata."""

    root: RootMetadata
    manifest: Manifest
    root_cose: bytes
    manifest_cose: bytes


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, 0o644, 0, tarfile.REGTYPE
    info.uname = info.gname = "root"
    return info


def write_bundle(out: BinaryIO, root_cose: bytes, manifest_cose: bytes, manifest: Manifest,
                 open_file: Callable[[str], BinaryIO], progress: Progress | None = None) -> None:
    """Write the bundle: metadata first, then each manifest file read through ``open_file``."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name, data in ((ROOT_MEMBER, root_cose), (MANIFEST_MEMBER, manifest_cose)):
            tar.addfile(_info(name, len(data)), io.BytesIO(data))
        for path, entry in manifest.files.items():
            with open_file(path) as source:
                tar.addfile(_info(path, entry.size), source)
            if progress is not None:
                progress(path, entry.size, entry.size)


def _metadata(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.next()
    if member is None or member.name != name or not member.isreg():
        raise BundleError(BundleCode.UNSIGNED, f"the bundle does not start with {ROOT_MEMBER} "
                          f"and {MANIFEST_MEMBER}")
    if member.size > MAX_METADATA_BYTES:
        raise BundleError(BundleCode.MALFORMED, f"{name} is larger than {MAX_METADATA_BYTES} bytes")
    source = tar.extractfile(member)
    if source is None:
        raise BundleError(BundleCode.MALFORMED, f"{name} cannot be read")
    return source.read()


def _copy(tar: tarfile.TarFile, member: tarfile.TarInfo, manifest: Manifest, sink: Sink,
          progress: Progress | None) -> None:
    entry = manifest.files[member.name]
    if member.size != entry.size:
        raise BundleError(BundleCode.BAD_SIZE, f"{member.name} is {member.size} bytes, the "
                          f"manifest says {entry.size}")
    source = tar.extractfile(member)
    if source is None:
        raise BundleError(BundleCode.MALFORMED, f"{member.name} cannot be read")
    digest, done = hashlib.sha256(), 0
    target = sink(member.name) if sink is not None else None
    try:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if target is not None:
                target.write(chunk)
            if progress is not None:
                progress(member.name, done, entry.size)
    finally:
        if target is not None:
            target.close()
    if done != entry.size:
        raise BundleError(BundleCode.BAD_SIZE, f"{member.name} ends after {done} bytes, the "
                          f"manifest says {entry.size}")
    if digest.hexdigest() != entry.sha256:
        raise BundleError(BundleCode.BAD_HASH, f"{member.name} has sha256 {digest.hexdigest()}, "
                          f"the manifest says {entry.sha256}")


def _members(tar: tarfile.TarFile) -> Iterable[tarfile.TarInfo]:
    while (member := tar.next()) is not None:
        yield member


def read_bundle(source: BinaryIO, pinned_root: bytes, now: datetime, trusted: Trusted,
                sink: Sink = None, progress: Progress | None = None) -> Opened:
    """Read and check a whole bundle; each file goes to ``sink(path)`` as it is checked.

    Raises :class:`BundleError`. A caller that wrote files through ``sink`` must discard them
    unless this returns: the last file's hash is only known at its end.
    """
    try:
        tar = tarfile.open(fileobj=source, mode="r|")
    except (tarfile.TarError, EOFError) as err:
        raise BundleError(BundleCode.MALFORMED, f"not a tar archive: {err}") from None
    with tar:
        try:
            root_cose = _metadata(tar, ROOT_MEMBER)
            manifest_cose = _metadata(tar, MANIFEST_MEMBER)
            root, manifest = check_metadata(root_cose, manifest_cose, pinned_root, now, trusted)
            seen: set[str] = set()
            for member in _members(tar):
                if member.name not in manifest.files or member.name in seen:
                    raise BundleError(BundleCode.EXTRA_FILE, f"{member.name!r} is not in the "
                                      "manifest (or is there twice)")
                if not member.isreg():
                    raise BundleError(BundleCode.EXTRA_FILE, f"{member.name} is not a plain file")
                seen.add(member.name)
                _copy(tar, member, manifest, sink, progress)
        except (tarfile.TarError, EOFError) as err:
            raise BundleError(BundleCode.MALFORMED, f"the archive is damaged: {err}") from None
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BundleError(BundleCode.MISSING_FILE, f"{len(missing)} file(s) missing, first "
                          f"{missing[0]}")
    return Opened(root, manifest, root_cose, manifest_cose)
