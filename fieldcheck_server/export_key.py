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
    path = directory / KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem)
        logger.info("created the export key %s", path)
        return key
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as err:
        raise ServerError(f"cannot read the export key {path}: {err}") from err
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ServerError(f"{path} is not an Ed25519 key; move it away and run the export again")
    return loaded
