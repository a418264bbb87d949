"""Keys, root metadata, manifests and whole bundles for the bundle tests (in memory)."""

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.bundle import (
    FileEntry,
    Manifest,
    RootMetadata,
    sign_manifest,
    sign_root,
)
from fieldcheck_protocol.bundle_archive import write_bundle
from fieldcheck_protocol.signature import public_key_bytes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FILES: Mapping[str, bytes] = {
    "config/fieldcheck.toml": b"[device]\n",
    "models/manifest.json": b'{"schema": 1}\n',
    "wheels/fieldcheck-0.2.0-py3-none-any.whl": b"PK\x03\x04 not really a wheel" * 50,
}


@dataclass
class Keys:
    """A root key and a release key it lists."""

    root: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    release: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def root_public(self) -> bytes:
        return public_key_bytes(self.root)


def entries(files: Mapping[str, bytes]) -> dict[str, FileEntry]:
    """The manifest entries of in-memory files."""
    return {p: FileEntry(hashlib.sha256(d).hexdigest(), len(d)) for p, d in files.items()}


def root_cose(keys: Keys, version: int = 1, days: int = 30 * 365,
              release: tuple[bytes, ...] | None = None) -> bytes:
    listed = release if release is not None else (public_key_bytes(keys.release),)
    return sign_root(RootMetadata(version, NOW + timedelta(days=days), listed), keys.root)


def manifest(counter: int = 1, version: str = "0.2.0", days: int = 30,
             files: Mapping[str, bytes] = FILES) -> Manifest:
    return Manifest(version, counter, NOW - timedelta(hours=1), NOW + timedelta(days=days),
                    entries(files))


def bundle_bytes(keys: Keys, counter: int = 1, version: str = "0.2.0", days: int = 30,
                 files: Mapping[str, bytes] = FILES, root: bytes | None = None,
                 signer: Ed25519PrivateKey | None = None) -> bytes:
    """A whole bundle in memory, signed by ``signer`` (default the listed release key)."""
    made = manifest(counter, version, days, files)
    out = io.BytesIO()
    write_bundle(out, root if root is not None else root_cose(keys),
                 sign_manifest(made, signer or keys.release), made,
                 lambda path: io.BytesIO(files[path]))
    return out.getvalue()
