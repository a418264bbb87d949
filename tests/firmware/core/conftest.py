"""Make the shared record builders importable by the core and store tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
