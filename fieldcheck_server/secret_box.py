"""Secrets the server must read back, sealed at rest: AES-256-GCM under ``secrets.key`` (0600).

Passwords and tokens are stored as one-way hashes; a TOTP seed cannot be, because the server
must compute codes from it. So a seed is sealed with a key that lives in the server directory,
not in the database: a copied database or backup alone gives no second factor. Each sealed
value is bound to its purpose and row (the associated data), so a sealed seed moved to another
account does not open.

Stored form: ``fcs1:`` + base64url(12-byte nonce + ciphertext + 16-byte tag), no padding.
"""

import base64
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldcheck_server.errors import ServerError
from fieldcheck_server.files import write_private

logger = logging.getLogger(__name__)

KEY_FILE = "secrets.key"
PREFIX = "fcs1:"
_KEY_SIZE = 32
_NONCE_SIZE = 12


class SealError(ServerError):
    """A sealed value does not open under this server's key (wrong key, row or damaged)."""


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens short secrets under one 256-bit key."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != _KEY_SIZE:
            raise ValueError("a secrets key is exactly 32 bytes")

    def seal(self, plain: str, context: str) -> str:
        """``plain`` sealed for ``context`` (e.g. ``"totp:17"``), as stored text."""
        nonce = os.urandom(_NONCE_SIZE)
        sealed = AESGCM(self.key).encrypt(nonce, plain.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def open(self, stored: str, context: str) -> str:
        """The plain text of a value :meth:`seal` made for the same ``context``."""
        if not is_sealed(stored):
            raise SealError("the stored value is not sealed")
        body = stored[len(PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = AESGCM(self.key).decrypt(raw[:_NONCE_SIZE], raw[_NONCE_SIZE:],
                                             context.encode())
        except (ValueError, InvalidTag) as err:
            raise SealError(
                "a sealed secret does not open with this server's secrets.key: the key file was "
                "replaced or the row was copied from elsewhere; reset the factor "
                "(`fieldcheck admin user totp --off`, then enrol it again)") from err
        return plain.decode()


def is_sealed(stored: str) -> bool:
    """Whether a stored value is in the sealed form (older rows may hold plain text)."""
    return stored.startswith(PREFIX)


def load_or_create(directory: Path) -> SecretBox:
    """The secrets key in the server directory, created (0600) on first use."""
    path = directory / KEY_FILE
    if not path.exists():
        write_private(path, os.urandom(_KEY_SIZE).hex().encode("ascii") + b"\n")
        logger.info("created the secrets key %s", path)
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as err:
        raise ServerError(f"cannot read the secrets key {path}: {err}; restore it from the "
                          "server's backup (sealed TOTP seeds open only with it)") from err
    if len(key) != _KEY_SIZE:
        raise ServerError(f"{path} does not hold 64 hex digits; restore it from the server's "
                          "backup (sealed TOTP seeds open only with it)")
    return SecretBox(key)
