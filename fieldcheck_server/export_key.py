"""The server's export key: Ed25519, signs the head statement of every COSE export (0600 file).

Separate from the TLS key on purpose: that one authenticates connections, this one signs
statements a third party keeps; each can be replaced without touching the other.
"""

import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_server.errors import ServerError
from fieldcheck_server.files import write_private

logger = logging.getLogger(__name__)

KEY_FILE = "export.key"


def load_or_create(directory: Path) -> Ed25519PrivateKey:
    """The export key in the server directory, created (0600) on first use."""
    return load_or_create_at(directory / KEY_FILE, "the export")


def load_or_create_at(path: Path, what: str = "the export") -> Ed25519PrivateKey:
    """An Ed25519 private key in a PEM file, created (0600) on first use; ``what`` names it in
    messages (each server key has its own file and job)."""
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem)
        logger.info("created %s key %s", what, path)
        return key
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as err:
        raise ServerError(f"cannot read {what} key {path}: {err}") from err
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ServerError(f"{path} is not an Ed25519 key; move it away and run the command again")
    return loaded
