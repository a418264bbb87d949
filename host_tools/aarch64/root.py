"""A Debian bookworm arm64 root built with ``debootstrap``, cached by a hash of its recipe.

Without binfmt_misc the second stage of debootstrap (maintainer scripts run by arm64 ``dpkg``)
cannot run, so the root is made by the first stage (``--foreign``: download, unpack the required
packages) and then every remaining package is unpacked with this machine's ``dpkg-deb``. No
maintainer script runs; Python, its standard library and pip need none.

The cache (``$FIELDCHECK_AARCH64_CACHE``, else ``~/.cache/fieldcheck/aarch64``) holds
``root-KEY/`` and ``wheels-KEY/``; each is built beside its final name and renamed into place,
so a cut-off build is never taken for a finished one.
"""

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from host_tools.aarch64.emulator import ProofError, Unavailable

logger = logging.getLogger(__name__)
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
#: What the unit's root needs beyond minbase: the interpreter, venv and pip (bookworm: 3.11).
PACKAGES = ("python3", "python3-venv", "python3-pip")
#: Bump when the way the root is made changes, so old cached roots are not reused.
RECIPE = 1
Say = Callable[[str], None]


def cache_home() -> Path:
    """Where the roots and wheels are kept between runs."""
    env = os.environ.get("FIELDCHECK_AARCH64_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "fieldcheck" / "aarch64"


def root_key() -> str:
    """A short hash of the root's recipe (suite, mirror, packages, recipe version)."""
    return hashlib.sha256(repr((SUITE, MIRROR, PACKAGES, RECIPE)).encode()).hexdigest()[:16]


@contextmanager
def locked(cache: Path) -> Iterator[None]:
    """Hold the cache's lock: one proof at a time uses (and changes) a cached root."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=20) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProofError(f"{what} failed ({done.returncode}): "
                         f"{(done.stderr.strip() or done.stdout.strip())[-800:]}")


def _unpack(root: Path, deb: Path) -> None:
    """Unpack one .deb into ``root``, keeping the merged-/usr symlinks (``/lib -> usr/lib``)."""
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)],
                          stdout=subprocess.PIPE) as source:
        done = subprocess.run(["tar", "-x", "--keep-directory-symlink", "-C", str(root)],
                              stdin=source.stdout, capture_output=True, text=True, check=False)
    if source.returncode != 0 or done.returncode != 0:
        raise ProofError(f"unpacking {deb.name} failed: {done.stderr.strip()[-400:]}")


def _unpack_rest(root: Path, say: Say) -> None:
    """Unpack the packages debootstrap's first stage downloaded but left for the second."""
    paths = dict(line.split(maxsplit=1) for line in
                 (root / "debootstrap" / "debpaths").read_text().splitlines() if line.strip())
    wanted = (root / "debootstrap" / "base").read_text().split()
    say(f"unpacking {len(wanted)} packages the first stage left packed ...")
    for name in wanted:
        _unpack(root, root / paths[name].lstrip("/"))


def build(target: Path, say: Say) -> None:
    """debootstrap's first stage into ``target``, then the remaining packages unpacked."""
    if not _reachable(f"{MIRROR}/dists/{SUITE}/Release"):
        raise Unavailable(f"the Debian mirror {MIRROR} is unreachable (no network?)")
    started = time.monotonic()
    say(f"debootstrap --foreign --arch=arm64 {SUITE} (minbase + {', '.join(PACKAGES)}) into "
        f"{target}; about two minutes ...")
    _run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase",
          f"--include={','.join(PACKAGES)}", SUITE, str(target), MIRROR], "debootstrap")
    _unpack_rest(target, say)
    if not (target / "usr" / "bin" / "python3").exists():
        raise ProofError(f"the root in {target} has no /usr/bin/python3 after unpacking")
    say(f"arm64 root ready in {time.monotonic() - started:.0f} s")


def ensure(cache: Path, say: Say) -> Path:
    """The cached root for the current recipe, built first when absent (call under
    :func:`locked`)."""
    final = cache / f"root-{root_key()}"
    if (final / ".complete").is_file():
        say(f"arm64 root: cached {final}")
        return final
    partial = cache / f".root-{root_key()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)
    build(partial, say)
    (partial / ".complete").write_text(f"{SUITE} {','.join(PACKAGES)} recipe {RECIPE}\n")
    partial.rename(final)
    return final
