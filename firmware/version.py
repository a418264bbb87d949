"""Firmware version and build date, the anchor for rejecting dates from before the build."""

from datetime import date

FIRMWARE_VERSION = "0.1.0"
# Set by the release process. GPS dates before this are impossible on a unit running this build
# (the classic symptom of a GPS week-number rollover), so the fix filters reject them.
BUILD_DATE = date(2026, 11, 1)
