"""``fieldcheck bundle keygen|root|build|verify`` end to end through the real CLI."""

import io
import stat
import tarfile
from pathlib import Path

import pytest

from host_tools.cli import main


def _keygen(tmp_path: Path) -> Path:
    prefix = tmp_path / "rel"
    assert main(["bundle", "keygen", "--out", str(prefix)]) == 0
    return prefix


def _wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "fieldcheck-0.3.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: enough to be carried
    return wheel


def _build(tmp_path: Path, prefix: Path, name: str = "fc.bundle", counter: int = 7,
           root: Path | None = None) -> Path:
    out = tmp_path / name
    argv = ["bundle", "build", "--key", f"{prefix}-release.key", "--out", str(out),
            "--counter", str(counter), "--wheel", str(_wheel(tmp_path)),
            "--root-metadata", str(root or f"{prefix}-root.cose")]
    assert main(argv) == 0
    return out


def test_keygen_writes_private_keys_0600_and_refuses_to_overwrite(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    for name in ("rel-root.key", "rel-release.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert (tmp_path / "rel-root.cose").stat().st_size > 0
    before = (tmp_path / "rel-root.key").read_bytes()
    assert main(["bundle", "keygen", "--out", str(prefix)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "rel-root.key").read_bytes() == before


def test_build_then_verify_prints_the_table(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    out = _build(tmp_path, prefix)
    capsys.readouterr()
    assert main(["bundle", "verify", "--public-key", f"{prefix}-root.pub", str(out)]) == 0
    text = capsys.readouterr().out
    assert "counter 7" in text and "0.3.0" in text and "result    ok" in text
    names = tarfile.open(out).getnames()
    assert names[:2] == ["root.cose", "manifest.cose"]
    assert "models/manifest.json" in names and "config/device.toml" in names
    assert "models/face_embedder_int8.tflite" in names
    assert "wheels/fieldcheck-0.3.0-py3-none-any.whl" in names


def test_verify_names_the_failure_and_what_to_do(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    out = _build(tmp_path, prefix)
    capsys.readouterr()
    assert main(["bundle", "verify", "--public-key", f"{prefix}-root.pub", "--counter", "7",
                 str(out)]) == 1
    text = capsys.readouterr().out
    assert "REFUSED rollback" in text and "higher --counter" in text
    (tmp_path / "other").mkdir()
    other = _keygen(tmp_path / "other")
    assert main(["bundle", "verify", "--public-key", f"{other}-root.pub", str(out)]) == 1
    assert "REFUSED wrong_root" in capsys.readouterr().out


def test_a_tampered_bundle_fails_verify(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    out = _build(tmp_path, prefix)
    data = bytearray(out.read_bytes())
    with tarfile.open(out) as tar:
        member = tar.getmember("config/device.toml")
    data[member.offset_data] ^= 0x20
    out.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["bundle", "verify", "--public-key", f"{prefix}-root.pub", str(out)]) == 1
    assert "REFUSED bad_hash" in capsys.readouterr().out


def test_root_rotation_revokes_the_old_release_key(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    assert main(["bundle", "keygen", "--role", "release", "--out", str(tmp_path / "new")]) == 0
    rotated = tmp_path / "root-v2.cose"
    assert main(["bundle", "root", "--root-key", f"{prefix}-root.key", "--release",
                 str(tmp_path / "new-release.pub"), "--version", "2", "--out", str(rotated)]) == 0
    (tmp_path / "rel-root.cose").rename(tmp_path / "rel-root-v1.cose")
    rotated.rename(tmp_path / "rel-root.cose")
    old = tmp_path / "old.bundle"
    assert main(["bundle", "build", "--key", f"{prefix}-release.key", "--out", str(old),
                 "--counter", "8", "--wheel", str(_wheel(tmp_path))]) == 1  # verify refuses
    assert "REFUSED untrusted_key" in capsys.readouterr().out
    new = _build(tmp_path, tmp_path / "new", "new.bundle", 9, root=tmp_path / "rel-root.cose")
    capsys.readouterr()
    assert main(["bundle", "verify", "--public-key", f"{prefix}-root.pub", "--root-version", "2",
                 str(new)]) == 0


def test_build_refuses_to_overwrite_and_reports_missing_models(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    out = _build(tmp_path, prefix)
    assert main(["bundle", "build", "--key", f"{prefix}-release.key", "--out", str(out),
                 "--wheel", str(_wheel(tmp_path))]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["bundle", "build", "--key", f"{prefix}-release.key", "--out",
                 str(tmp_path / "b2"), "--wheel", str(_wheel(tmp_path)), "--models",
                 str(tmp_path)]) == 2
    assert "--models" in capsys.readouterr().err


@pytest.mark.slow
def test_build_makes_fieldchecks_own_wheel_with_pip(tmp_path, capsys):
    prefix = _keygen(tmp_path)
    out = tmp_path / "real.bundle"
    assert main(["bundle", "build", "--key", f"{prefix}-release.key", "--out", str(out)]) == 0
    assert "building the fieldcheck wheel" in capsys.readouterr().err
    with tarfile.open(out) as tar:
        wheels = [n for n in tar.getnames() if n.startswith("wheels/fieldcheck-")]
        assert len(wheels) == 1
        import zipfile
        body = tar.extractfile(wheels[0]).read()
        assert "host_tools/bundle/device.toml" in zipfile.ZipFile(io.BytesIO(body)).namelist()
