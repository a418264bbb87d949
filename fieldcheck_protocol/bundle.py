"""Signed firmware bundles (schema v1): the root and manifest metadata, their signing and checks.

Two roles, as in The Update Framework:

- the **root** key (kept offline) signs the *root metadata*: a version, an expiry and the set of
  **release** public keys allowed to sign bundles (threshold 1). Rotating a compromised release key
  is a new root metadata with a higher version that no longer lists it; the unit pins only the root
  public key and remembers the highest root version it has accepted.
- a **release** key signs the *manifest*: the firmware version, a monotonic anti-rollback
  ``counter``, created/expires times and the sha256 and size of every file in the bundle.

Both are COSE_Sign1 messages in the layout of :mod:`fieldcheck_protocol.signature` (kid =
:func:`bundle_key_id`), each over one deterministic CBOR map; any other encoding is refused. The
archive that carries them is :mod:`fieldcheck_protocol.bundle_archive`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.record import RecordError, from_ms, to_ms
from fieldcheck_protocol.signature import device_id_for, open_sign1, public_key_bytes, sign1

BUNDLE_SCHEMA = 1
ROOT_KEYS = ("v", "t", "n", "ex", "keys")
MANIFEST_KEYS = ("v", "t", "ver", "n", "ca", "ex", "files")
#: Largest root or manifest message accepted at all (bytes), checked before any parsing.
MAX_METADATA_BYTES = 1 << 20
#: Most files one bundle may hold, and the largest one (bytes).
MAX_FILES = 4096
MAX_FILE_BYTES = 1 << 30
#: Most release keys one root metadata may list.
MAX_RELEASE_KEYS = 16
_PATH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
#: The folders a bundle may carry files in; nothing else is ever installed.
FOLDERS = ("wheels", "models", "config")


class BundleCode(StrEnum):
    """Why a bundle was refused; each has a :data:`HINTS` text saying what to do."""

    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ROOT = "wrong_root"
    UNTRUSTED_KEY = "untrusted_key"
    EXPIRED = "expired"
    ROOT_ROLLBACK = "root_rollback"
    ROLLBACK = "rollback"
    MISSING_FILE = "missing_file"
    EXTRA_FILE = "extra_file"
    BAD_SIZE = "bad_size"
    BAD_HASH = "bad_hash"


HINTS: Mapping[BundleCode, str] = MappingProxyType({
    BundleCode.MALFORMED: "the file is not a fieldcheck bundle; rebuild it with `fieldcheck bundle "
                          "build`",
    BundleCode.UNSIGNED: "the bundle carries no signed root and manifest first; rebuild it with "
                         "`fieldcheck bundle build`",
    BundleCode.BAD_SIGNATURE: "the bundle was altered after signing; fetch it again from the "
                              "release",
    BundleCode.WRONG_ROOT: "the bundle's root metadata is not signed by the root key this unit "
                           "pins; use a bundle from your own release keys",
    BundleCode.UNTRUSTED_KEY: "the manifest is signed by a release key the root metadata does not "
                              "list (revoked or foreign); rebuild with a current release key",
    BundleCode.EXPIRED: "the bundle (or its root metadata) has expired; build a fresh one, and "
                        "check the unit's clock",
    BundleCode.ROOT_ROLLBACK: "the bundle carries older root metadata than this unit has "
                              "accepted; rebuild it with the current root metadata",
    BundleCode.ROLLBACK: "the bundle's counter is not higher than the installed one; build it "
                         "with a higher --counter",
    BundleCode.MISSING_FILE: "the bundle lacks a file its manifest lists; fetch it again",
    BundleCode.EXTRA_FILE: "the bundle holds a file its manifest does not list; it is refused "
                           "whole, rebuild it",
    BundleCode.BAD_SIZE: "a file's size differs from the manifest; the bundle was altered or cut "
                         "short, fetch it again",
    BundleCode.BAD_HASH: "a file's sha256 differs from the manifest; the bundle was altered, fetch "
                         "it again",
})


class BundleError(Exception):
    """A bundle or its metadata is refused; ``code`` says why, ``hint`` what to do."""

    def __init__(self, code: BundleCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.hint = HINTS[code]


def bundle_key_id(public_key: bytes) -> str:
    """A root or release key's id, the COSE kid of what it signs: ``"fcb-"`` + 16 base32 chars."""
    return "fcb-" + device_id_for(public_key)[3:]


def check_path(path: Any) -> str:
    """A file path a manifest may name: ``folder/name[/name...]``, folder one of :data:`FOLDERS`.

    No absolute paths, ``..``, empty or hidden parts, so nothing lands outside its slot.
    """
    if not isinstance(path, str) or len(path) > 512:
        raise BundleError(BundleCode.MALFORMED, f"file path {path!r} is not text up to 512 chars")
    parts = path.split("/")
    if len(parts) < 2 or parts[0] not in FOLDERS or not all(_PATH_PART.fullmatch(p) for p in parts):
        raise BundleError(BundleCode.MALFORMED, f"file path {path!r} is not one of "
                          f"{'/, '.join(FOLDERS)}/ followed by plain names")
    return path


@dataclass(frozen=True)
class FileEntry:
    """One file of a bundle: its sha256 (hex) and size in bytes."""

    sha256: str
    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise BundleError(BundleCode.MALFORMED, "sha256 must be 64 lower-case hex digits")
        if isinstance(self.size, bool) or not isinstance(self.size, int) \
                or not 0 <= self.size <= MAX_FILE_BYTES:
            raise BundleError(BundleCode.MALFORMED, f"size must be 0..{MAX_FILE_BYTES} bytes")


def _time(value: Any, where: str) -> datetime:
    try:
        ms = to_ms(value) if isinstance(value, datetime) else value
        return from_ms(ms, where)
    except RecordError as err:
        raise BundleError(BundleCode.MALFORMED, str(err)) from None


def _counter(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise BundleError(BundleCode.MALFORMED, f"{where} must be an integer >= 1")
    return value


@dataclass(frozen=True)
class RootMetadata:
    """The root role: which release keys may sign bundles, until when, at which version."""

    version: int
    expires: datetime
    release_keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _counter(self.version, "root version")
        object.__setattr__(self, "expires", _time(self.expires, "root expiry"))
        keys = tuple(self.release_keys)
        if not 0 < len(keys) <= MAX_RELEASE_KEYS or len(set(keys)) != len(keys) or not all(
                isinstance(k, bytes) and len(k) == 32 for k in keys):
            raise BundleError(BundleCode.MALFORMED, f"root metadata must list 1-"
                              f"{MAX_RELEASE_KEYS} distinct 32-byte release keys")
        object.__setattr__(self, "release_keys", keys)


@dataclass(frozen=True)
class Manifest:
    """The release role's statement: version, anti-rollback counter, expiry, every file."""

    version: str
    counter: int
    created: datetime
    expires: datetime
    files: Mapping[str, FileEntry]

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not _VERSION.fullmatch(self.version):
            raise BundleError(BundleCode.MALFORMED, "version must be 1-64 of 0-9 A-Z a-z . + _ -")
        _counter(self.counter, "counter")
        created, expires = _time(self.created, "created"), _time(self.expires, "expires")
        if expires <= created:
            raise BundleError(BundleCode.MALFORMED, "expiry must be after creation")
        if not isinstance(self.files, Mapping) or not 0 < len(self.files) <= MAX_FILES:
            raise BundleError(BundleCode.MALFORMED, f"a manifest lists 1-{MAX_FILES} files")
        files = {check_path(p): e for p, e in sorted(self.files.items())}
        if not all(isinstance(e, FileEntry) for e in files.values()):
            raise BundleError(BundleCode.MALFORMED, "every file needs a sha256 and a size")
        object.__setattr__(self, "created", created)
        object.__setattr__(self, "expires", expires)
        object.__setattr__(self, "files", MappingProxyType(files))


def _sign(payload: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    kid = bundle_key_id(public_key_bytes(key)).encode("ascii")
    return sign1(cbor2.dumps(payload, canonical=True), kid, key)


def sign_root(root: RootMetadata, root_key: Ed25519PrivateKey) -> bytes:
    """The root metadata as COSE_Sign1 bytes signed with the root key."""
    return _sign({"v": BUNDLE_SCHEMA, "t": "root", "n": root.version,
                  "ex": to_ms(root.expires), "keys": list(root.release_keys)}, root_key)


def sign_manifest(manifest: Manifest, release_key: Ed25519PrivateKey) -> bytes:
    """The manifest as COSE_Sign1 bytes signed with a release key."""
    files = {p: [e.sha256, e.size] for p, e in manifest.files.items()}
    return _sign({"v": BUNDLE_SCHEMA, "t": "manifest", "ver": manifest.version,
                  "n": manifest.counter, "ca": to_ms(manifest.created),
                  "ex": to_ms(manifest.expires), "files": files}, release_key)


def _open(cose: bytes, public_key: bytes, kind: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The payload map of a message ``public_key`` signed, in deterministic CBOR, of ``kind``."""
    if not isinstance(cose, bytes) or len(cose) > MAX_METADATA_BYTES:
        raise BundleError(BundleCode.MALFORMED, f"{kind} metadata is not bytes up to "
                          f"{MAX_METADATA_BYTES}")
    try:
        kid, payload = open_sign1(cose, public_key)
    except RecordError as err:
        code = BundleCode.BAD_SIGNATURE if err.code == "bad_signature" else BundleCode.MALFORMED
        raise BundleError(code, f"{kind} metadata: {err.message}") from None
    if kid != bundle_key_id(public_key).encode("ascii"):
        raise BundleError(BundleCode.BAD_SIGNATURE, f"{kind} metadata names another key id")
    try:
        body: Any = cbor2.loads(payload, allow_indefinite=False, allow_duplicate_keys=False)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as err:
        raise BundleError(BundleCode.MALFORMED, f"{kind} payload is not CBOR: {err}") from None
    if not isinstance(body, dict) or set(body) != set(keys) or body.get("v") != BUNDLE_SCHEMA \
            or body.get("t") != kind or cbor2.dumps(body, canonical=True) != payload:
        raise BundleError(BundleCode.MALFORMED, f"not {kind} metadata of schema {BUNDLE_SCHEMA} "
                          "in deterministic CBOR")
    return body


def kid_of(cose: bytes) -> str:
    """The key id a message claims (unverified), for error messages; ``"?"`` if unreadable."""
    try:
        message: Any = cbor2.loads(cose)
        kid = message.value[1][4]
        return kid.decode("ascii") if isinstance(kid, bytes) else "?"
    except (cbor2.CBORDecodeError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, RecursionError):
        return "?"


def open_root(cose: bytes, pinned_root: bytes, now: datetime) -> RootMetadata:
    """Root metadata the pinned root key signed and that has not expired."""
    if kid_of(cose) != bundle_key_id(pinned_root):
        raise BundleError(BundleCode.WRONG_ROOT, f"root metadata is signed by {kid_of(cose)}, "
                          f"this unit pins {bundle_key_id(pinned_root)}")
    body = _open(cose, pinned_root, "root", ROOT_KEYS)
    keys = body["keys"]
    if not isinstance(keys, list):
        raise BundleError(BundleCode.MALFORMED, "root keys must be a list")
    root = RootMetadata(body["n"], body["ex"], tuple(keys))
    if now >= root.expires:
        raise BundleError(BundleCode.EXPIRED, f"root metadata v{root.version} expired at "
                          f"{root.expires.isoformat()}")
    return root


def open_manifest(cose: bytes, root: RootMetadata, now: datetime) -> Manifest:
    """A manifest signed by a release key ``root`` lists, not expired at ``now``."""
    kid = kid_of(cose)
    by_id = {bundle_key_id(k): k for k in root.release_keys}
    if kid not in by_id:
        raise BundleError(BundleCode.UNTRUSTED_KEY, f"manifest signed by {kid}, root metadata "
                          f"v{root.version} lists {', '.join(sorted(by_id))}")
    body = _open(cose, by_id[kid], "manifest", MANIFEST_KEYS)
    files = body["files"]
    if not isinstance(files, dict):
        raise BundleError(BundleCode.MALFORMED, "manifest files must be a map")
    entries = {}
    for path, entry in files.items():
        if not isinstance(entry, list) or len(entry) != 2:
            raise BundleError(BundleCode.MALFORMED, f"file {path!r} must be [sha256, size]")
        entries[path] = FileEntry(entry[0], entry[1])
    manifest = Manifest(body["ver"], body["n"], body["ca"], body["ex"], entries)
    if now >= manifest.expires:
        raise BundleError(BundleCode.EXPIRED, f"bundle {manifest.version} expired at "
                          f"{manifest.expires.isoformat()}")
    return manifest


@dataclass(frozen=True)
class Trusted:
    """What the unit has accepted so far: the highest root version and bundle counter."""

    root_version: int = 0
    counter: int = 0


def check_metadata(root_cose: bytes, manifest_cose: bytes, pinned_root: bytes, now: datetime,
                   trusted: Trusted) -> tuple[RootMetadata, Manifest]:
    """Root then manifest, each checked, then refused when older than what ``trusted`` holds."""
    root = open_root(root_cose, pinned_root, now)
    if root.version < trusted.root_version:
        raise BundleError(BundleCode.ROOT_ROLLBACK, f"root metadata v{root.version} is older than "
                          f"the v{trusted.root_version} this unit accepted")
    manifest = open_manifest(manifest_cose, root, now)
    if manifest.counter <= trusted.counter:
        raise BundleError(BundleCode.ROLLBACK, f"bundle {manifest.version} has counter "
                          f"{manifest.counter}, this unit is at {trusted.counter}")
    return root, manifest
