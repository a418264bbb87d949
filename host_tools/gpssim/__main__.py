"""``python -m host_tools.gpssim ...``: the same as ``fieldcheck gps-sim ...``."""

import sys

from host_tools.cli import main

if __name__ == "__main__":
    sys.exit(main(["gps-sim", *sys.argv[1:]]))
