"""Bundle signing keys: Ed25519 pairs written as PEM (private 0600, never overwritten)."""

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldcheck_protocol.keyfile import parse_public_key

logger = logging.getLogger(__name__)


class KeyFileError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key; the message says what to do."""


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with exactly ``mode``; refuses to replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileError(f"{path} exists; refusing to overwrite a key (move it away or pick "
                           "another --out)") from None
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The public half as PEM SubjectPublicKeyInfo."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def generate(prefix: Path) -> tuple[Path, Path, Ed25519PrivateKey]:
    """A new pair as ``PREFIX.key`` (0600) and ``PREFIX.pub``; neither may exist yet."""
    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    for path in (private, public):
        if path.exists():
            raise KeyFileError(f"{path} exists; refusing to overwrite a key (move it away or "
                               "pick another --out)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _write_new(private, pem, 0o600)
    _write_new(public, public_pem(key), 0o644)
    logger.info("wrote %s and %s", private, public)
    return private, public, key


def load_private(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file written by :func:`generate`."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise KeyFileError(f"cannot read key {path}: {err.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key: {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key (make one with `fieldcheck bundle "
                           "keygen`)")
    return key


def load_public(path: Path) -> bytes:
    """The raw 32-byte public key from a PEM ``.pub`` (or a file of 64 hex digits)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise KeyFileError(f"cannot read public key {path}: {err.strerror}") from None
    try:
        return parse_public_key(data)
    except ValueError as err:
        raise KeyFileError(f"{path}: {err}") from None
