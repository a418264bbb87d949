"""The device config: embedded defaults, unknown keys refused, backends by name, schema text."""

import importlib.util
from pathlib import Path

import pytest

from firmware import config
from firmware.errors import ConfigError


def test_embedded_defaults_are_a_real_unit() -> None:
    defaults = {name: default for name, _, default in config.SECTIONS}
    assert defaults == {"gps": "serial", "store": "sqlite", "sync": "null",
                        "supervisor": "serial", "camera": "picamera2", "face": "tflite",
                        "ui": "null"}
    if importlib.util.find_spec("picamera2") is None:
        # Off a Raspberry Pi the real camera stack is missing: validation says what to install.
        with pytest.raises(ConfigError, match="needs picamera2.*-> .*python3-picamera2"):
            config.load(None)
        return
    loaded = config.load(None)
    assert loaded.gps.backend.name == "serial"
    assert loaded.gps.config.port == "/dev/serial0"
    assert loaded.gps.config.baudrate == 9600
    assert loaded.store.backend.name == "sqlite"
    assert loaded.supervisor.backend.name == "serial"
    assert loaded.sync.backend.name == "null"
    assert loaded.device.data_dir == Path("/var/lib/fieldcheck")


def test_a_file_overrides_and_picks_backends(tmp_path: Path) -> None:
    path = tmp_path / "device.toml"
    path.write_text(
        '[device]\ndata_dir = "/tmp/x"\n[policy]\nlocation_interval_s = 30\n'
        '[gps]\ntype = "tcp"\n[supervisor]\ntype = "sim"\nscript = ["5 tamper open=1"]\n'
        '[camera]\ntype = "replay"\n[checkin]\nmode = "times"\ntimes = ["09:00"]\n'
    )
    loaded = config.load(path)
    assert loaded.policy.location_interval_s == 30.0
    assert loaded.gps.backend.name == "tcp"
    assert loaded.supervisor.config.script == ("5 tamper open=1",)
    assert loaded.camera.backend.name == "replay"
    assert loaded.checkin.times == ("09:00",)


@pytest.mark.parametrize(
    "text,words",
    [
        ("[camra]\n", "unknown section .camra."),
        ("[gps]\nbaud = 9600\n", "unknown setting(s) baud"),
        ('[gps]\ntype = "usb"\n', "not a known backend"),
        ('[gps]\nbaudrate = "fast"\n', "expected a whole number"),
        ("[policy]\nlocation_interval_s = true\n", "expected a number"),
        ("[device\n", "not valid TOML"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "device.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        config.load(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "absent.toml")


def test_missing_runtime_is_refused_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = config.importlib.util.find_spec
    monkeypatch.setattr(config.importlib.util, "find_spec",
                        lambda name: None if name == "serial" else real(name))
    with pytest.raises(ConfigError, match="needs serial, which is not installed -> pip install"):
        config.from_mapping({"camera": {"type": "replay"}}, "test")


def test_schema_lists_every_section_and_backend() -> None:
    text = config.schema()
    for header in ("[device]", "[policy]", "[checkin]"):
        assert f"\n{header}\n" in text
    for section, backend in (("gps", "serial"), ("gps", "replay"), ("store", "sqlite"),
                             ("sync", "https"), ("supervisor", "sim"), ("camera", "picamera2"),
                             ("face", "tflite")):
        assert f'\n[{section}]\ntype = "{backend}"\n' in text
    assert "\nbaudrate = 9600\n" in text


def test_digest_follows_the_effective_settings() -> None:
    base = {"camera": {"type": "replay"}}
    same = config.from_mapping(base, "a").digest()
    assert same == config.from_mapping({"camera": {"type": "replay"}}, "b").digest()
    explicit_default = {"camera": {"type": "replay"}, "gps": {"baudrate": 9600}}
    assert config.from_mapping(explicit_default, "c").digest() == same  # defaults count as set
    changed = {"camera": {"type": "replay"}, "policy": {"location_interval_s": 60}}
    assert config.from_mapping(changed, "d").digest() != same
