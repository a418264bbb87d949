"""Encrypted templates at rest: round trip, owner-only files, and refusal of every tampering."""

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from firmware.core.verdict import Outcome
from firmware.errors import VerifyError
from firmware.face import matcher, template_store
from firmware.face.template_store import KeySource, TemplateStore

MODEL = "ab" * 32
DEVICE = "fc-device-one"


@pytest.fixture
def template() -> matcher.Template:
    rng = np.random.default_rng(7)
    return matcher.Template(embedding=rng.normal(0, 0.1, 128).astype(np.float32), count=2,
                            spread=0.31, model_sha256=MODEL)


@pytest.fixture
def store(tmp_path: Path) -> TemplateStore:
    return TemplateStore(tmp_path / "t.fct", KeySource(tmp_path / "t.key"), DEVICE)


def test_round_trip_with_owner_only_files_and_no_plain_embedding(store, template) -> None:
    assert store.load(MODEL) is None and not store.enrolled()
    store.save(template)
    for path in (store.path, store.keys.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(store.keys.key_file.read_bytes()) == 32
    raw = store.path.read_bytes()
    assert raw.startswith(b"fieldcheck-face-template/2\n")
    assert matcher.FORMAT.encode() not in raw  # the template JSON is only inside the ciphertext
    assert f"{template.embedding[0]:.6f}"[:6].encode() not in raw
    loaded = store.load(MODEL)
    assert loaded is not None and loaded.count == 2 and loaded.spread == pytest.approx(0.31)
    np.testing.assert_array_equal(loaded.embedding, template.embedding)
    assert [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_second_enrolment_keeps_the_key_and_changes_the_nonce(store, template) -> None:
    store.save(template)
    key, first = store.keys.key_file.read_bytes(), store.path.read_bytes()
    store.save(template)
    assert store.keys.key_file.read_bytes() == key
    assert store.path.read_bytes() != first  # a fresh nonce every time


def test_a_flipped_ciphertext_bit_is_refused(store, template) -> None:
    store.save(template)
    data = bytearray(store.path.read_bytes())
    data[-20] ^= 0x01
    store.path.write_bytes(bytes(data))
    with pytest.raises(VerifyError, match="altered, or the template key is not the one"):
        store.load(MODEL)


@pytest.mark.parametrize(("old", "new", "message"), [
    (DEVICE.encode(), b"fc-device-two", "belongs to device fc-device-two"),
    (MODEL.encode(), b"cd" * 32, "another face model"),
    (b'"alg":"A256GCM"', b'"alg":"A128GCM"', "unknown header"),
    (b'"device_id"', b' "device_id"', "does not decrypt"),  # same meaning, other bytes
])
def test_an_edited_header_is_refused(store, template, old, new, message) -> None:
    store.save(template)
    store.path.write_bytes(store.path.read_bytes().replace(old, new, 1))
    with pytest.raises(VerifyError, match=message):
        store.load(MODEL)


def test_wrong_key_another_model_and_another_device_are_refused(store, template) -> None:
    store.save(template)
    with pytest.raises(VerifyError, match="another face model"):
        store.load("00" * 32)
    other = TemplateStore(store.path, store.keys, "fc-device-two")
    with pytest.raises(VerifyError, match=f"belongs to device {DEVICE}"):
        other.load(MODEL)
    store.keys.key_file.write_bytes(os.urandom(32))
    with pytest.raises(VerifyError, match="template key is not the one"):
        store.load(MODEL)


def test_missing_short_or_exposed_key_files_say_what_to_do(store, template) -> None:
    store.save(template)
    key = store.keys.key_file
    key.chmod(0o644)
    with pytest.raises(VerifyError, match="chmod 600"):
        store.load(MODEL)
    key.chmod(0o600)
    key.write_bytes(b"short")
    with pytest.raises(VerifyError, match="has 5 bytes"):
        store.load(MODEL)
    key.unlink()
    with pytest.raises(VerifyError, match="enrol the person again"):
        store.load(MODEL)


def test_a_systemd_credential_gives_the_key_and_is_never_written(tmp_path, template) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "face-key").write_bytes(os.urandom(48))
    path = template_store.credential_path("face-key", str(creds))
    assert path == creds / "face-key"
    assert template_store.credential_path("face-key", "") is None
    keys = KeySource(tmp_path / "unused.key", credential=path)
    store = TemplateStore(tmp_path / "t.fct", keys, DEVICE)
    store.save(template)
    assert not keys.key_file.exists()
    loaded = store.load(MODEL)
    assert loaded is not None
    np.testing.assert_array_equal(loaded.embedding, template.embedding)
    (creds / "face-key").write_bytes(os.urandom(48))  # another credential: another key
    with pytest.raises(VerifyError, match="does not decrypt"):
        store.load(MODEL)
    (creds / "face-key").write_bytes(b"x" * 8)
    with pytest.raises(VerifyError, match="shorter than 32 bytes"):
        store.load(MODEL)


def test_a_plain_json_file_from_the_old_format_is_refused(store) -> None:
    store.path.write_text('{"format": "fieldcheck-face-template/1"}')
    with pytest.raises(VerifyError, match="not an encrypted face template"):
        store.load(MODEL)


def test_real_enrolment_survives_encryption_and_still_verifies(engine, photo, tmp_path) -> None:
    if engine.pipeline.embedder is None:
        pytest.skip("the face embedder is not built yet")
    store = TemplateStore(tmp_path / "t.fct", KeySource(tmp_path / "t.key"), DEVICE)
    store.save(engine.enroll([photo("obama"), photo("obama2")]))
    loaded = store.load(engine.model_sha256)
    assert loaded is not None
    assert engine.verify([photo("obama3")], loaded).outcome is Outcome.MATCH
    assert engine.verify([photo("biden")], loaded).outcome is Outcome.NO_MATCH


SECRET = bytes(range(32))


def test_with_a_device_secret_the_key_is_derived_and_no_key_file_is_written(
        tmp_path, template) -> None:
    keys = KeySource(tmp_path / "t.key", device_secret=SECRET)
    store = TemplateStore(tmp_path / "t.fct", keys, DEVICE)
    store.save(template)
    assert not keys.key_file.exists() and "device key" in keys.describe()
    assert SECRET.hex() not in repr(keys)
    np.testing.assert_array_equal(store.load(MODEL).embedding, template.embedding)
    other = TemplateStore(store.path, KeySource(tmp_path / "t.key",
                                                device_secret=bytes(32)), DEVICE)
    with pytest.raises(VerifyError, match="does not decrypt"):
        other.load(MODEL)


def test_a_template_of_the_old_layout_moves_to_the_derived_key_at_its_first_load(
        tmp_path, template) -> None:
    old = TemplateStore(tmp_path / "t.fct", KeySource(tmp_path / "t.key"), DEVICE)
    old.save(template)  # the key file beside the template, as enrolment used to leave it
    assert old.keys.key_file.is_file()
    moved = TemplateStore(old.path, KeySource(old.keys.key_file, device_secret=SECRET), DEVICE)
    np.testing.assert_array_equal(moved.load(MODEL).embedding, template.embedding)
    assert not old.keys.key_file.exists()  # the key beside the template is gone
    derived_only = TemplateStore(old.path, KeySource(tmp_path / "none.key",
                                                     device_secret=SECRET), DEVICE)
    np.testing.assert_array_equal(derived_only.load(MODEL).embedding, template.embedding)


def test_a_fresh_enrolment_over_the_old_layout_deletes_the_old_key(tmp_path, template) -> None:
    old = TemplateStore(tmp_path / "t.fct", KeySource(tmp_path / "t.key"), DEVICE)
    old.save(template)
    fresh = TemplateStore(old.path, KeySource(old.keys.key_file, device_secret=SECRET), DEVICE)
    fresh.save(template)
    assert not old.keys.key_file.exists()
    np.testing.assert_array_equal(fresh.load(MODEL).embedding, template.embedding)
