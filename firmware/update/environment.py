"""Make a staged slot runnable: a virtual environment from the bundle's wheels, offline."""

import logging
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from firmware.update.base import UpdateError

logger = logging.getLogger(__name__)


class SlotSetup(Protocol):
    """Turns a slot's files into something the daemon runs from."""

    name: str

    def setup(self, slot: Path, version: str) -> None:
        """Prepare ``slot`` (UpdateError when it cannot)."""
        ...


class VenvSetup:
    """``python -m venv SLOT/venv`` then pip from ``SLOT/wheels`` only (``--no-index``)."""

    name = "venv"

    def __init__(self, python: str = sys.executable, extra: str = "device") -> None:
        self._python, self._extra = python, extra

    def _run(self, command: list[str], what: str) -> None:
        logger.info("%s: %s", what, " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False,
                                  timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise UpdateError("setup", f"{what} failed: {err}") from err
        if done.returncode != 0:
            raise UpdateError("setup", f"{what} failed ({done.returncode}): "
                              f"{done.stderr.strip()[-400:]}",
                              "the bundle lacks a wheel the unit needs: build it with "
                              "`fieldcheck bundle build --wheels DIR` for the unit's platform")

    def setup(self, slot: Path, version: str) -> None:
        """Create the slot's venv and install fieldcheck and its dependencies from the bundle."""
        venv = slot / "venv"
        self._run([self._python, "-m", "venv", str(venv)], "creating the slot's venv")
        extra = f"[{self._extra}]" if self._extra else ""
        wanted = f"fieldcheck{extra}=={version}"
        self._run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                   "--no-cache-dir", "--find-links", str(slot / "wheels"), wanted],
                  "installing the bundle's wheels")


class FilesOnly:
    """Leaves the slot as the bundle's files (a bench or test daemon runs them directly)."""

    name = "files"

    def setup(self, slot: Path, version: str) -> None:
        """Nothing to do."""


SETUPS = ("venv", "files")


def setup_for(name: str, extras: str) -> SlotSetup:
    """The slot setup ``name`` (``extras``: the fieldcheck extra the venv installs)."""
    return VenvSetup(extra=extras) if name == "venv" else FilesOnly()
