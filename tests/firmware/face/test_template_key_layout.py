"""The unit's template key is not stored beside the template: the wiring derives it from the
device key, and moves a template of the old layout (key file beside it) on its first load."""

from pathlib import Path

import numpy as np

from firmware.app.wiring import template_store_for
from firmware.face import matcher
from firmware.face.template_store import KeySource, TemplateStore
from firmware.services.schedule import CheckinSettings
from firmware.store.identity import create_identity

MODEL = "cd" * 32


def a_template() -> matcher.Template:
    rng = np.random.default_rng(11)
    return matcher.Template(embedding=rng.normal(0, 0.1, 128).astype(np.float32), count=2,
                            spread=0.3, model_sha256=MODEL)


def test_an_existing_data_dir_of_the_old_layout_is_migrated(tmp_path: Path) -> None:
    device = create_identity(tmp_path).device_id
    settings = CheckinSettings()
    old_key = tmp_path / settings.key_file
    TemplateStore(tmp_path / settings.template_file, KeySource(old_key), device).save(
        a_template())
    assert old_key.is_file()  # what units enrolled before this firmware have
    store = template_store_for(settings, tmp_path, device)
    loaded = store.load(MODEL)
    assert loaded is not None and not old_key.exists()
    assert store.keys.describe() == "derived from the device key"
    assert template_store_for(settings, tmp_path, device).load(MODEL) is not None


def test_a_key_file_configured_apart_is_used(tmp_path: Path) -> None:
    device = create_identity(tmp_path).device_id
    settings = CheckinSettings(key_file=Path("keys/face.key"))
    store = template_store_for(settings, tmp_path, device)
    store.save(a_template())
    assert (tmp_path / "keys" / "face.key").is_file()
    assert store.load(MODEL) is not None
