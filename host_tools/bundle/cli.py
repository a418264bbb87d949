"""``fieldcheck bundle keygen|root|build|verify``: the technician's side of signed bundles."""

import argparse
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fieldcheck_cli.args import positive_int
from fieldcheck_protocol.bundle import (
    BundleError,
    RootMetadata,
    Trusted,
    bundle_key_id,
    kid_of,
    sign_root,
)
from fieldcheck_protocol.bundle_archive import Opened, read_bundle
from fieldcheck_protocol.signature import public_key_bytes
from host_tools.bundle import build, keys, platform_wheels

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add ``bundle`` and its verbs."""
    parser = subparsers.add_parser("bundle", help="signed firmware bundles: keys, build, verify")
    verbs = parser.add_subparsers(dest="verb", required=True)
    _keygen(verbs)
    _root(verbs)
    _build(verbs)
    _verify(verbs)


def _keygen(verbs: Any) -> None:
    p = verbs.add_parser("keygen", help="new root and release keys (or one release key)",
                         description="--role both (default): PREFIX-root.key/.pub, "
                         "PREFIX-release.key/.pub and PREFIX-root.cose, the root metadata v1 "
                         "listing the release key. --role release: PREFIX-release.key/.pub only "
                         "(list it with `bundle root`). Private keys are 0600; nothing existing "
                         "is overwritten. Keep the root key offline.")
    p.add_argument("--out", required=True, type=Path, metavar="PREFIX")
    p.add_argument("--role", choices=("both", "release"), default="both")
    p.add_argument("--days", type=positive_int, default=365, help="root metadata lifetime")
    p.set_defaults(func=run_keygen)


def _root(verbs: Any) -> None:
    p = verbs.add_parser("root", help="sign root metadata: which release keys may sign bundles",
                         description="Rotate release keys: list the ones still trusted, with a "
                         "version higher than the units have seen; a unit that has accepted "
                         "this version refuses bundles signed by any key it does not list.")
    p.add_argument("--root-key", required=True, type=Path)
    p.add_argument("--release", required=True, type=Path, action="append",
                   help="a release public key (.pub) to list; repeat for several")
    p.add_argument("--version", required=True, type=positive_int)
    p.add_argument("--days", type=positive_int, default=365)
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=run_root)


def _build(verbs: Any) -> None:
    p = verbs.add_parser("build", help="build and sign a bundle for units")
    p.add_argument("--key", required=True, type=Path, help="release private key")
    p.add_argument("--root-metadata", type=Path,
                   help="root metadata listing the key (default: PREFIX-root.cose beside "
                   "PREFIX-release.key)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--counter", type=positive_int,
                   help="anti-rollback counter, higher than any earlier bundle (default: now, "
                   "in seconds since 1970)")
    p.add_argument("--version", help="firmware version (default: the wheel's)")
    p.add_argument("--days", type=positive_int, default=90, help="bundle lifetime")
    p.add_argument("--wheel", type=Path, help="fieldcheck's wheel (default: build it with pip)")
    p.add_argument("--wheels", type=Path, help="folder of dependency wheels for the unit")
    p.add_argument("--platform", choices=sorted(platform_wheels.PLATFORMS),
                   help="download the unit's dependency wheels for this platform from PyPI "
                   "(pip download --only-binary=:all:) into --wheels, or a scratch folder")
    p.add_argument("--models", type=Path, default=build.Inputs.models_dir)
    p.add_argument("--config", type=Path, default=build.DEFAULT_CONFIG)
    p.add_argument("--public-key", type=Path,
                   help="root public key: verify the finished bundle with it (default: "
                   "PREFIX-root.pub beside the key, when present)")
    p.set_defaults(func=run_build)


def _verify(verbs: Any) -> None:
    p = verbs.add_parser("verify", help="check a bundle as a unit would, with a table")
    p.add_argument("--public-key", required=True, type=Path, help="the root public key")
    p.add_argument("--counter", type=int, default=0,
                   help="refuse unless the bundle's counter is above this (a unit's)")
    p.add_argument("--root-version", type=int, default=0,
                   help="refuse root metadata older than this (a unit's)")
    p.add_argument("file", type=Path)
    p.set_defaults(func=run_verify)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_keygen(args: argparse.Namespace) -> int:
    """Write the key files (and the first root metadata)."""
    prefix: Path = args.out
    release_prefix = prefix.with_name(prefix.name + "-release")
    if args.role == "release":
        _, public, _key = keys.generate(release_prefix)
        print(f"release key {public} ({bundle_key_id(keys.load_public(public))})")
        return 0
    metadata = prefix.with_name(prefix.name + "-root.cose")
    for suffix in ("-root.cose", "-root.key", "-root.pub", "-release.key", "-release.pub"):
        if prefix.with_name(prefix.name + suffix).exists():  # all or nothing
            raise keys.KeyFileError(f"{prefix}{suffix} exists; refusing to overwrite a key (move "
                                    "it away or pick another --out)")
    root_private, root_public, root_key = keys.generate(prefix.with_name(prefix.name + "-root"))
    _, release_public, release_key = keys.generate(release_prefix)
    root = RootMetadata(1, datetime.now(UTC) + timedelta(days=args.days),
                        (public_key_bytes(release_key),))
    metadata.write_bytes(sign_root(root, root_key))
    print(f"root key    {root_private} (offline!), {root_public}: pin this on every unit "
          f"({bundle_key_id(public_key_bytes(root_key))})")
    print(f"release key {release_public} ({bundle_key_id(public_key_bytes(release_key))})")
    print(f"root metadata v1 {metadata}, expires {root.expires:%Y-%m-%d}")
    return 0


def run_root(args: argparse.Namespace) -> int:
    """Sign new root metadata listing the given release keys."""
    listed = tuple(keys.load_public(p) for p in args.release)
    root = RootMetadata(args.version, datetime.now(UTC) + timedelta(days=args.days), listed)
    if args.out.exists():
        raise keys.KeyFileError(f"{args.out} exists; refusing to overwrite")
    args.out.write_bytes(sign_root(root, keys.load_private(args.root_key)))
    print(f"root metadata v{root.version} {args.out}: "
          f"{', '.join(bundle_key_id(k) for k in listed)}, expires {root.expires:%Y-%m-%d}")
    return 0


def _sibling(key: Path, suffix: str) -> Path | None:
    name = key.name
    return key.with_name(name[: -len("-release.key")] + suffix) \
        if name.endswith("-release.key") else None


def run_build(args: argparse.Namespace) -> int:
    """Collect, hash, sign and write; then verify the result when the root key is at hand."""
    release_key = keys.load_private(args.key)
    root_path = args.root_metadata or _sibling(args.key, "-root.cose")
    if root_path is None:
        raise build.BuildError("pass --root-metadata (the root metadata listing this key)")
    root_cose = root_path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="fieldcheck-bundle-") as scratch:
        wheel_dir = args.wheels
        if args.platform is not None:
            wheel_dir = wheel_dir or Path(scratch) / "platform-wheels"
            platform_wheels.download(platform_wheels.platform(args.platform), wheel_dir, _say)
        inputs = build.Inputs(models_dir=args.models, config=args.config, own_wheel=args.wheel,
                              wheel_dir=wheel_dir)
        files = build.collect(inputs, Path(scratch), _say)
        version = args.version or build.wheel_version(files)
        counter = args.counter or int(time.time())
        manifest = build.make_manifest(files, version, counter, datetime.now(UTC),
                                       timedelta(days=args.days), _say)
        _say(f"writing {args.out} ...")
        build.write_file(args.out, root_cose, manifest, files, release_key)
    print(f"bundle {args.out}: {version}, counter {counter}, {len(files)} files, "
          f"signed by {bundle_key_id(public_key_bytes(release_key))}, expires "
          f"{manifest.expires:%Y-%m-%d}")
    public = args.public_key or _sibling(args.key, "-root.pub")
    if public is not None and public.is_file():
        return _report(args.out, keys.load_public(public), Trusted())
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check every signature, expiry, counter and file; print a table; exit 1 on a refusal."""
    return _report(args.file, keys.load_public(args.public_key),
                   Trusted(root_version=args.root_version, counter=args.counter))


def _report(path: Path, root_public: bytes, trusted: Trusted) -> int:
    rows: list[tuple[str, str]] = [("bundle", str(path)),
                                   ("root key", bundle_key_id(root_public))]
    try:
        with path.open("rb") as handle:
            opened = read_bundle(handle, root_public, datetime.now(UTC), trusted)
    except BundleError as err:
        rows += [("result", f"REFUSED {err.code.value}: {err.message}"), ("what to do", err.hint)]
        _table(rows)
        return 1
    _table(rows + _rows(opened) + [("result", "ok")])
    return 0


def _rows(opened: Opened) -> list[tuple[str, str]]:
    root, manifest = opened.root, opened.manifest
    total = sum(e.size for e in manifest.files.values())
    folders = sorted({p.split("/", 1)[0] for p in manifest.files})
    return [
        ("root", f"v{root.version}, {len(root.release_keys)} release key(s), expires "
                 f"{root.expires:%Y-%m-%d %H:%M}Z"),
        ("manifest", f"{manifest.version}, counter {manifest.counter}, signed by "
                     f"{kid_of(opened.manifest_cose)}"),
        ("valid", f"{manifest.created:%Y-%m-%d %H:%M}Z .. {manifest.expires:%Y-%m-%d %H:%M}Z"),
        ("files", f"{len(manifest.files)} ({', '.join(folders)}), {total} bytes, every sha256 "
                  "and size matches, nothing unlisted"),
    ]


def _table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
