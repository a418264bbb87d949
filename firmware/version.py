"""Firmware version and build date, the anchor for rejecting dates from before the build."""

from datetime import date
from importlib import metadata


def _installed_version() -> str:
    """The version of the installed ``fieldcheck`` distribution (``pyproject.toml``'s, once
    installed): one number for the wheel, the bundle and every record's ``firmware_version``."""
    try:
        return metadata.version("fieldcheck")
    except metadata.PackageNotFoundError:  # run from a bare source tree, not installed
        return "0+unknown"


FIRMWARE_VERSION = _installed_version()
# Set by the release process. GPS dates before this are impossible on a unit running this build
# (the classic symptom of a GPS week-number rollover), so the fix filters reject them.
BUILD_DATE = date(2026, 11, 1)
