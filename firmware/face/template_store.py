"""Enrolled templates encrypted at rest: AES-256-GCM bound to the face model and the device.

File layout (``fieldcheck-face-template/2``)::

    fieldcheck-face-template/2\\n
    {"alg": "A256GCM", "device_id": ..., "model_sha256": ..., "nonce": hex}\\n
    <ciphertext and 16-byte tag of the plain template JSON>

The two header lines are public (the device id and the model hash are not secret) and are the
AES-GCM associated data, so editing them breaks the tag just as editing the ciphertext does.
They are read first only to give a precise error (another model, another device) before the
generic "tampered or wrong key" one.

The 32-byte template key comes from a systemd credential (``LoadCredentialEncrypted=``, so it
can be sealed to the unit's TPM) when one is configured, else it is derived (HKDF) from the
unit's device key, so no key file sits beside the template. Only a unit without a device key
falls back to a key file of its own, created once with mode 0600. A template enrolled under
the old layout (its key file beside it) is re-encrypted under the derived key at its first
load and the old key file is deleted. The template and its key are never logged.
"""

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from firmware.errors import VerifyError
from firmware.face import matcher
from firmware.private_file import publish_new, replace_private

logger = logging.getLogger(__name__)

FORMAT = b"fieldcheck-face-template/2"
KEY_BYTES = 32
NONCE_BYTES = 12
TEMPLATE_FILE = "face-template.fct"
KEY_FILE = "face-template.key"
_HKDF_INFO = b"fieldcheck face template key v1"
_DEVICE_INFO = b"fieldcheck face template key from the device key v1"


@dataclass(frozen=True)
class KeySource:
    """Where the template key comes from: a systemd credential file, else the device key's
    secret (``device_secret``: the key is derived from it), else a key file. With a credential
    or a device secret, ``key_file`` is only the legacy key to migrate from."""

    key_file: Path
    credential: Path | None = None
    device_secret: bytes | None = field(default=None, repr=False)

    def describe(self) -> str:
        """Where the key lives, for messages (never the key itself)."""
        if self.credential:
            return f"credential {self.credential}"
        return "derived from the device key" if self.device_secret else f"key file {self.key_file}"


def credential_path(name: str, directory: str | None = None) -> Path | None:
    """``$CREDENTIALS_DIRECTORY/name`` when systemd passed credentials, else None."""
    base = directory if directory is not None else os.environ.get("CREDENTIALS_DIRECTORY")
    if not name or not base:
        return None
    return Path(base) / name


def load_key(source: KeySource, create: bool = False) -> bytes:
    """The 32-byte template key; ``create`` makes the key file on first enrolment."""
    if source.credential is not None:
        return _key_from_credential(source.credential)
    if source.device_secret is not None:
        return HKDF(hashes.SHA256(), KEY_BYTES, None, _DEVICE_INFO).derive(source.device_secret)
    path = source.key_file
    if create and not path.exists() and not path.is_symlink():
        return _create_key_file(path)
    _check_mode(path)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise VerifyError(
            f"no template key at {path}",
            "enrol the person again on this unit (the key is made at enrolment)",
        ) from None
    except PermissionError as err:
        raise VerifyError(f"cannot read template key {path}",
                          "run as the service user that owns it") from err
    if len(key) != KEY_BYTES:
        raise VerifyError(f"template key {path} has {len(key)} bytes, not {KEY_BYTES}",
                          "restore the unit's key file, or delete it and enrol again")
    return key


def _key_from_credential(path: Path) -> bytes:
    try:
        secret = path.read_bytes()
    except OSError as err:
        raise VerifyError(f"cannot read the template key credential {path}: {err.strerror}",
                          "check LoadCredentialEncrypted= in the systemd unit") from err
    if len(secret) < KEY_BYTES:
        raise VerifyError(f"template key credential {path} is shorter than {KEY_BYTES} bytes",
                          "create it from 32 random bytes: `head -c 32 /dev/urandom`")
    # HKDF so the credential may be any length of random bytes and is used for this purpose only.
    return HKDF(hashes.SHA256(), KEY_BYTES, None, _HKDF_INFO).derive(secret)


def _create_key_file(path: Path) -> bytes:
    """Write a random key to a fresh 0600 file and link it into place (never replaces one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        publish_new(path, key)
    except FileExistsError:
        return load_key(KeySource(path))  # another enrolment made it first: use that one
    logger.info("created the face template key file %s", path)
    return key


def _check_mode(path: Path) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return  # reported by the read with the enrolment hint
    if not stat.S_ISREG(info.st_mode):
        raise VerifyError(f"template key {path} is not a regular file",
                          "replace the link with the key file itself")
    if info.st_mode & 0o077:
        raise VerifyError(
            f"template key {path} is readable by group/others "
            f"(mode {stat.filemode(info.st_mode)}); refusing to use it",
            f"run `chmod 600 {path}`, and find out how it was exposed",
        )


def encrypt(template: matcher.Template, key: bytes, device_id: str,
            nonce: bytes | None = None) -> bytes:
    """The encrypted file contents for ``template`` on device ``device_id``."""
    nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_BYTES)
    header = FORMAT + b"\n" + _header_json(template.model_sha256, device_id, nonce) + b"\n"
    return header + AESGCM(key).encrypt(nonce, matcher.to_json(template), header)


def decrypt(data: bytes, key: bytes, device_id: str, model_sha256: str,
            where: str = "template") -> matcher.Template:
    """The template in ``data``; refuses another format, model or device, and any tampering."""
    parts = _split(data, where)
    header = _parse_header(parts[1], where)
    if header.get("model_sha256") != model_sha256:
        raise VerifyError(f"{where} was made with another face model",
                          "enrol the person again with the installed model")
    if header.get("device_id") != device_id:
        raise VerifyError(f"{where} belongs to device {header.get('device_id')}, not {device_id}",
                          "templates never move between units: enrol the person on this unit")
    try:
        nonce = bytes.fromhex(str(header.get("nonce", "")))
        plain = AESGCM(key).decrypt(nonce, parts[2], parts[0] + b"\n" + parts[1] + b"\n")
    except (InvalidTag, ValueError) as err:
        raise VerifyError(
            f"{where} does not decrypt: it was altered, or the template key is not the one "
            "it was enrolled with",
            "restore the unit's template key, or enrol the person again",
        ) from err
    return matcher.from_json(plain, model_sha256, where)


def _split(data: bytes, where: str) -> list[bytes]:
    parts = data.split(b"\n", 2)
    if len(parts) != 3 or parts[0] != FORMAT:
        raise VerifyError(f"{where} is not an encrypted face template ({FORMAT.decode()})",
                          "enrol the person again on this unit")
    return parts


def _header_json(model_sha256: str, device_id: str, nonce: bytes) -> bytes:
    fields = {"alg": "A256GCM", "device_id": device_id, "model_sha256": model_sha256,
              "nonce": nonce.hex()}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _parse_header(line: bytes, where: str) -> dict[str, object]:
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise VerifyError(f"{where} has a damaged header", "enrol the person again") from err
    if not isinstance(header, dict) or header.get("alg") != "A256GCM":
        raise VerifyError(f"{where} has an unknown header", "enrol the person again")
    return header


class TemplateStore:
    """The enrolled template of this unit: one encrypted file and the key that opens it."""

    def __init__(self, path: Path, keys: KeySource, device_id: str) -> None:
        self.path = path
        self.keys = keys
        self.device_id = device_id

    def enrolled(self) -> bool:
        """Whether a template file exists (it may still fail to open)."""
        return self.path.exists()

    def save(self, template: matcher.Template) -> None:
        """Encrypt and write the template atomically (0600), creating the key if needed."""
        key = load_key(self.keys, create=True)
        data = encrypt(template, key, self.device_id)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_private(self.path, data)
        legacy = self._legacy_key()
        if legacy is not None:  # a fresh enrolment: the old key opens nothing any more
            legacy.unlink(missing_ok=True)
        logger.info("saved the encrypted face template %s (%s)", self.path, self.keys.describe())

    def load(self, model_sha256: str) -> matcher.Template | None:
        """The decrypted template, or None when nobody is enrolled on this unit."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise VerifyError(f"cannot read template {self.path}: {err.strerror}",
                              "check the data dir's permissions, or enrol again") from err
        _split(data, str(self.path))  # a foreign file is named as such before any key is looked up
        if self._legacy_key() is not None:
            return self._migrate(data, model_sha256)
        key = load_key(self.keys)
        return decrypt(data, key, self.device_id, model_sha256, str(self.path))

    def _legacy_key(self) -> Path | None:
        """The old layout's key file beside the template, when the key now comes elsewhere."""
        keys = self.keys
        moved = keys.credential is not None or keys.device_secret is not None
        exists = keys.key_file.exists() or keys.key_file.is_symlink()
        return keys.key_file if moved and exists else None

    def _migrate(self, data: bytes, model_sha256: str) -> matcher.Template:
        """Re-encrypt a template of the old layout under the current key, then delete the
        old key file (only once the new file is in place)."""
        legacy = KeySource(self.keys.key_file)
        template = decrypt(data, load_key(legacy), self.device_id, model_sha256, str(self.path))
        self.save(template)
        self.keys.key_file.unlink(missing_ok=True)
        logger.warning("moved the face template %s to a key %s; deleted the old key file %s "
                       "that sat beside it", self.path, self.keys.describe(), self.keys.key_file)
        return template
