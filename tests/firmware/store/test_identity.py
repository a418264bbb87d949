"""Device identity: generated once, kept 0600, refused when exposed, never shown."""

import os
from pathlib import Path

import pytest

from fieldcheck_protocol.signature import device_id_for
from firmware.errors import StoreError
from firmware.store.identity import (
    create_identity,
    key_path,
    load_identity,
    load_or_create_identity,
)


def test_created_key_is_private_and_loads_back(tmp_path: Path) -> None:
    created = create_identity(tmp_path / "data")
    path = key_path(tmp_path / "data")
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["device.key"]  # no temp file left
    loaded = load_identity(tmp_path / "data")
    assert loaded.public_key == created.public_key
    assert loaded.device_id == created.device_id == device_id_for(created.public_key)
    assert len(loaded.public_key_hex) == 64 and "=" not in loaded.public_key_b64


def test_key_is_created_mode_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        create_identity(tmp_path)
    finally:
        os.umask(old)
    assert key_path(tmp_path).stat().st_mode & 0o777 == 0o600


def test_repr_and_str_never_show_the_private_key(tmp_path: Path) -> None:
    identity = create_identity(tmp_path)
    pem = key_path(tmp_path).read_text()
    secret_line = pem.splitlines()[1]
    shown = repr(identity) + str(identity)
    assert identity.device_id in shown
    assert secret_line not in shown and "PRIVATE" not in shown


def test_an_existing_identity_is_never_replaced(tmp_path: Path) -> None:
    first = create_identity(tmp_path)
    with pytest.raises(StoreError, match="already"):
        create_identity(tmp_path)
    again, created = load_or_create_identity(tmp_path)
    assert not created and again.public_key == first.public_key
    assert load_identity(tmp_path).public_key == first.public_key


def test_first_start_creates_the_identity(tmp_path: Path) -> None:
    identity, created = load_or_create_identity(tmp_path / "new")
    assert created and key_path(tmp_path / "new").exists()
    assert identity.device_id.startswith("fc-")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_group_or_world_access_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    create_identity(tmp_path)
    key_path(tmp_path).chmod(mode)
    with pytest.raises(StoreError) as caught:
        load_identity(tmp_path)
    assert f"chmod 600 {key_path(tmp_path)}" in str(caught.value)


def test_missing_key_says_how_to_provision(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="identity init"):
        load_identity(tmp_path)


def test_corrupt_or_linked_key_is_refused(tmp_path: Path) -> None:
    path = key_path(tmp_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    os.close(fd)
    with pytest.raises(StoreError, match="not a readable PEM"):
        load_identity(tmp_path)
    path.unlink()
    real = tmp_path / "elsewhere"
    create_identity(real)
    path.symlink_to(key_path(real))
    with pytest.raises(StoreError, match="not a regular file"):
        load_identity(tmp_path)
