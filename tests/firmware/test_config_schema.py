"""`config schema`: TOML a technician can copy, a meaning for every key, the unit's defaults."""

import dataclasses
import importlib
import re
import tomllib

import pytest

from firmware import config
from firmware.core.settings import build
from firmware.core.settings_schema import kind_of, toml_value
from firmware.face import manifest

PLAIN = {"device": config.DeviceSettings, "policy": config.PolicySettings,
         "checkin": config.CheckinSettings}


def _config_class(section: str, backend: str) -> type:
    if not backend:
        return PLAIN[section]
    registry = dict((name, backends) for name, backends, _ in config.SECTIONS)[section]
    entry = next(b for b in registry if b.name == backend)
    return importlib.import_module(entry.module).Config  # type: ignore[no-any-return]


@pytest.mark.parametrize(("section", "backend", "text"),
                         [b for b in config.schema_blocks() if b[0]],
                         ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_every_block_is_toml_that_builds_the_defaults_it_shows(
    section: str, backend: str, text: str
) -> None:
    table = tomllib.loads(text)[section]
    assert table.pop("type", "") == backend
    built = build(_config_class(section, backend), table, section)
    expected = _config_class(section, backend)()
    if backend == "tflite":  # the unit's folder, not this checkout's
        expected = dataclasses.replace(expected, models_dir=manifest.DEVICE_MODELS)
    assert built == expected


def test_no_python_reprs_and_no_checkout_path() -> None:
    text = config.schema()
    for repr_text in ("PosixPath(", "tuple", "Settings(", "(str,", "(Path,", "True", "False"):
        assert repr_text not in text
    checkout = str(manifest.Path(manifest.__file__).resolve().parents[2])
    assert checkout not in text
    assert 'models_dir = "/opt/fieldcheck/current/models"' in text


def test_every_key_has_a_meaning_nested_tables_included() -> None:
    lines = config.schema().splitlines()
    keys = 0
    for index, line in enumerate(lines):
        if re.match(r"^#? ?[a-z_]+ = ", line) and not re.match(r"^#? ?type = ", line):
            keys += 1
            above = lines[index - 1]
            assert above.startswith("# ") and len(above) > 12, f"no meaning for {line!r}"
    assert keys > 80
    text = "\n".join(lines)
    assert "[face.gates]" in text and "[face.detector]" in text
    assert "# smallest face box width in frame pixels (number)\nmin_face_px = 80.0" in text
    assert "# min_score = (not set)" in text


@pytest.mark.parametrize(("value", "toml"), [
    (True, "true"), (3, "3"), (0.5, "0.5"), (float("inf"), "inf"), ('a "b"\\', '"a \\"b\\"\\\\"'),
    (config.Path("/x"), '"/x"'), (("a", "b"), '["a", "b"]'),
])
def test_toml_values_parse_back(value: object, toml: str) -> None:
    assert toml_value(value) == toml
    parsed = tomllib.loads(f"v = {toml}")["v"]
    assert parsed == (list(value) if isinstance(value, tuple) else
                      str(value) if isinstance(value, config.Path) else value)


def test_kinds_in_words() -> None:
    assert kind_of(tuple[str, ...]) == "list of text"
    assert kind_of(float | None) == "number, optional"
    assert kind_of(config.Path) == "path"
