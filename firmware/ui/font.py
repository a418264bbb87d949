"""The screen's font: Lato (SIL Open Font License 1.1), shipped by the ``font-lato`` PyPI package.

Lato covers Latin-1 and Latin Extended-A, so every character of the four catalogues (accents,
ñ, ç, ò, è, ·) has a glyph; ``tests/firmware/ui`` renders every text and fails on a missing
glyph. A unit installs it with the ``device`` extra; nothing is fetched at run time.
"""

import functools
import importlib.util
import logging
from pathlib import Path

from PIL import ImageFont

from firmware.errors import ConfigError

logger = logging.getLogger(__name__)

PACKAGE = "font_lato"
REGULAR = "Lato-Regular.ttf"
BOLD = "Lato-Bold.ttf"
LICENCE = "SIL Open Font License 1.1 (Lato by Łukasz Dziedzic, packaged by font-lato on PyPI)"


def font_dir() -> Path:
    """Where the Lato files are installed; ConfigError saying what to install otherwise."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError("the screen font (Lato) is not installed",
                          "install the fieldcheck[device] extra (it brings font-lato)")
    return Path(spec.origin).parent / "files"


@functools.lru_cache(maxsize=8)
def load(name: str, size: int) -> ImageFont.FreeTypeFont:
    """The font file ``name`` at ``size`` pixels (cached)."""
    path = font_dir() / name
    try:
        # The basic layout places 1-bit glyphs on whole pixels more evenly than raqm does.
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as err:
        raise ConfigError(f"the screen font {path} cannot be loaded: {err}",
                          "reinstall the fieldcheck[device] extra (font-lato)") from err


def has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether ``font`` draws ``char`` as itself rather than as the missing-glyph box."""
    if char.isspace():
        return True
    return bytes(font.getmask(char)) != bytes(font.getmask("\uffff"))
