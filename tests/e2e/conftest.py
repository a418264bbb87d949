"""Make the device simulator and the end-to-end helpers importable by the end-to-end tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "firmware" / "sync"))
