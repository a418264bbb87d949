"""Ed25519 public key files, as the release, root and command keys are handed around.

A ``.pub`` file holds either a PEM SubjectPublicKeyInfo (what ``fieldcheck server init`` and
``fieldcheck bundle keygen`` write) or the raw key as 64 hex digits. One parser for all of them,
so a unit, the server and the host tools accept exactly the same files.
"""

import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fieldcheck_protocol.signature import public_key_bytes

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


def parse_public_key(data: bytes) -> bytes:
    """The raw 32-byte Ed25519 key of a ``.pub`` file's bytes: PEM SubjectPublicKeyInfo or 64 hex
    digits; ValueError, saying which, for anything else."""
    text = data.decode("ascii", errors="replace").strip()
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise ValueError(f"not a PEM public key or 64 hex digits ({err})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return public_key_bytes(key)
