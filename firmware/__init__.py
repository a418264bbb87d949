"""fieldcheck device firmware: GPS, camera, face verification, signed records and sync."""

from firmware.version import FIRMWARE_VERSION as __version__

__all__ = ["__version__"]
