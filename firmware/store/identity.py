"""The device identity: an Ed25519 key generated on the unit, kept in a file only its owner reads.

The private key never leaves this module's objects: it is not printed, logged, synced or put in
a ``repr``. What may be shown is the public key and the device id derived from it.
"""

import base64
import logging
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from fieldcheck_protocol.signature import device_id_for, public_key_bytes
from firmware.errors import StoreError
from firmware.private_file import publish_new

logger = logging.getLogger(__name__)

KEY_FILE = "device.key"


@dataclass(frozen=True)
class DeviceIdentity:
    """This unit's signing key, its raw public key and its device id."""

    private_key: Ed25519PrivateKey = field(repr=False)
    public_key: bytes
    device_id: str
    path: Path

    def __repr__(self) -> str:
        return f"DeviceIdentity({self.device_id}, {self.path})"

    @property
    def public_key_hex(self) -> str:
        """The raw public key as 64 hex digits (what a technician registers)."""
        return self.public_key.hex()

    @property
    def public_key_b64(self) -> str:
        """The raw public key as unpadded base64url."""
        return base64.urlsafe_b64encode(self.public_key).decode("ascii").rstrip("=")

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` (sync request authentication); the key stays here."""
        return self.private_key.sign(message)


def key_path(data_dir: Path) -> Path:
    """Where the device key lives inside ``data_dir``."""
    return data_dir / KEY_FILE


def _identity(key: Ed25519PrivateKey, path: Path) -> DeviceIdentity:
    public = public_key_bytes(key)
    return DeviceIdentity(private_key=key, public_key=public, device_id=device_id_for(public),
                          path=path)


def create_identity(data_dir: Path) -> DeviceIdentity:
    """Generate a new key and publish it at ``data_dir/device.key`` (mode 0600), atomically.

    The key is written to a fresh temporary file (O_CREAT|O_EXCL, 0600), fsynced, then linked
    into place, which fails if a key already exists: an existing identity is never replaced.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_path(data_dir)
    if path.exists():
        raise StoreError(
            f"{path} already exists; this unit already has an identity",
            "replacing it would orphan every record the server holds for this unit; "
            "use `fieldcheck-device identity show`",
        )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        publish_new(path, pem)
    except FileExistsError as err:
        raise StoreError(f"{path} appeared while creating it", "run the command again") from err
    identity = _identity(key, path)
    logger.info("created device identity %s at %s", identity.device_id, path)
    return identity


def _check_mode(path: Path) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise StoreError(
            f"no device key at {path}", "provision the unit: `fieldcheck-device identity init`"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{path} is not a regular file", "replace the link with the key file")
    if info.st_mode & 0o077:
        raise StoreError(
            f"device key {path} is accessible to group/others "
            f"(mode {stat.filemode(info.st_mode)}); refusing to use it",
            f"run `chmod 600 {path}` as its owner, and find out how it was exposed",
        )


def load_identity(data_dir: Path) -> DeviceIdentity:
    """Load the existing key; refuses a missing, unreadable, exposed or foreign key file."""
    path = key_path(data_dir)
    _check_mode(path)
    try:
        pem = path.read_bytes()
    except PermissionError as err:
        raise StoreError(
            f"cannot read {path}", "run as the user that owns the device key (the service user)"
        ) from err
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as err:
        raise StoreError(
            f"{path} is not a readable PEM private key",
            "restore it from the provisioning backup; do not create a new one on a registered unit",
        ) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise StoreError(f"{path} holds a {type(key).__name__}, not an Ed25519 key",
                         "restore the device's own Ed25519 key")
    return _identity(key, path)


def load_or_create_identity(data_dir: Path) -> tuple[DeviceIdentity, bool]:
    """The unit's identity, creating it on first start; the flag says whether it was created."""
    if key_path(data_dir).exists() or key_path(data_dir).is_symlink():
        return load_identity(data_dir), False
    return create_identity(data_dir), True
