"""Make the MCU logic (hardware/mcu, top-level MicroPython modules) importable here."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
for path in (REPO / "hardware" / "mcu",):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
