"""``python -m firmware`` runs the ``fieldcheck-device`` command."""

import sys

from firmware.cli import main

sys.exit(main())
