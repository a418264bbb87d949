"""The firmware reports the version the project declares, not a second hard-coded number."""

import tomllib
from pathlib import Path

from firmware.version import FIRMWARE_VERSION

ROOT = Path(__file__).resolve().parents[2]


def test_the_firmware_version_is_the_projects() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert FIRMWARE_VERSION == declared
