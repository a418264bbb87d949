"""``python -m host_tools`` runs the ``fieldcheck`` command."""

import sys

from host_tools.cli import main

sys.exit(main())
