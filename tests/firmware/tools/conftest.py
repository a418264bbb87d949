"""The face fixtures (sample photos, checkout models, a started engine) serve the tool tests too."""

from tests.firmware.face.conftest import engine, images, photo

__all__ = ["engine", "images", "photo"]
