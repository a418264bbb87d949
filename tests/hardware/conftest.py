"""Make the MCU modules (hardware/mcu) and the fake ``machine`` importable under CPython."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MCU = REPO / "hardware" / "mcu"
for path in (str(MCU),):
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture
def fake_machine() -> Iterator[object]:
    """Install the fake ``machine``/``micropython`` modules for one test, then remove them."""
    from tests.hardware import fake_machine as module

    module.install()
    yield module
    for name in ("machine", "micropython", "main"):
        sys.modules.pop(name, None)
