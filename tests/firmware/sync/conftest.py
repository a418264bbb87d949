"""Make the shared device simulator importable by the sync, server and end-to-end tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
