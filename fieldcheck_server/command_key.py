"""The server's command key: Ed25519, signs every command sent to a unit (``command.key``, 0600).

Its own key, never the TLS or export key: a unit pins its public half (``command.pub``, PEM) at
provisioning and obeys nothing else, so it can be rotated (re-provisioning the units) on its own.
"""

import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_server.export_key import load_or_create_at

logger = logging.getLogger(__name__)

KEY_FILE = "command.key"
PUBLIC_FILE = "command.pub"


def load_or_create(directory: Path) -> Ed25519PrivateKey:
    """The command key in the server directory, created on first use with its ``command.pub``."""
    key = load_or_create_at(directory / KEY_FILE, "the command")
    public = directory / PUBLIC_FILE
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public.exists() or public.read_bytes() != pem:
        public.write_bytes(pem)
        logger.info("wrote the command public key %s", public)
    return key
