"""Fits a :class:`Screen` on the 128x64 display: measures every line, wraps words, draws 1-bit.

Nothing is ever cut off: a text that cannot be wrapped into the space (a word wider than the
screen, too many lines) raises :class:`LayoutError`, and the tests lay out every screen in every
language. A long officer's message is split into pages instead (:func:`pages`).
"""

import logging
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw, ImageFont

from firmware.ui import font
from firmware.ui.screens import Screen

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 128, 64
MARGIN_X = 1


class LayoutError(ValueError):
    """A screen's text does not fit the display."""


@dataclass(frozen=True)
class Style:
    """Font sizes and line pitches (pixels); the body tries each size until the text fits."""

    title_size: int = 12
    title_pitch: int = 14
    body_sizes: tuple[tuple[int, int], ...] = ((11, 12), (10, 11))
    footer_size: int = 10


STYLE = Style()


@dataclass(frozen=True)
class Line:
    """One line of text placed on the display."""

    text: str
    y: int
    font: ImageFont.FreeTypeFont


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap by measured width; LayoutError for a word wider than ``width``."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if face.getlength(word) > width:
            raise LayoutError(f"the word {word!r} is wider than the screen")
        candidate = f"{current} {word}" if current else word
        if face.getlength(candidate) <= width:
            current = candidate
            continue
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    return lines


def place(screen: Screen, style: Style = STYLE) -> list[Line]:
    """Every line of ``screen`` with its font and position; LayoutError if it cannot fit."""
    width = WIDTH - 2 * MARGIN_X
    title_font = font.load(font.BOLD, style.title_size)
    if title_font.getlength(screen.title) > width:
        raise LayoutError(f"[{screen.name}] title {screen.title!r} is wider than the screen")
    footer_font = font.load(font.REGULAR, style.footer_size)
    if footer_font.getlength(screen.footer) > width:
        raise LayoutError(f"[{screen.name}] footer {screen.footer!r} is wider than the screen")
    # A line's glyphs stay inside its font's ascent + descent: the last body line must end
    # above the footer, and the footer above the bottom edge, or a descender would be cut.
    footer_top = HEIGHT - (_extent(footer_font) if screen.footer else 0)
    for size, pitch in style.body_sizes:
        body_font = font.load(font.REGULAR, size)
        body = [line for text in screen.body for line in wrap(text, body_font, width)]
        if style.title_pitch + (len(body) - 1) * pitch + _extent(body_font) <= footer_top:
            break
    else:
        raise LayoutError(f"[{screen.name}] the body needs {len(body)} lines, more than fit: "
                          f"{' / '.join(screen.body)!r}")
    lines = [Line(screen.title, 0, title_font)]
    lines += [Line(text, style.title_pitch + i * pitch, body_font) for i, text in enumerate(body)]
    if screen.footer:
        lines.append(Line(screen.footer, footer_top, footer_font))
    return lines


def _extent(face: ImageFont.FreeTypeFont) -> int:
    """Pixels from a line's top to the lowest a descender can reach."""
    ascent, descent = face.getmetrics()
    return int(ascent + descent)


def render(screen: Screen, style: Style = STYLE, size: tuple[int, int] = (WIDTH, HEIGHT),
           ) -> Image.Image:
    """``screen`` drawn white on black as a 1-bit image (``size`` larger only for tests)."""
    image = Image.new("1", size, 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no grey: the OLED has none, and thresholded greys look ragged
    for line in place(screen, style):
        draw.text((MARGIN_X, line.y), line.text, font=line.font, fill=1)
    return image


def pages(screen: Screen, style: Style = STYLE) -> list[Screen]:
    """``screen`` split into screens that fit, by words, each footed "n/N" (officer messages)."""
    try:
        place(screen, style)
        return [screen]
    except LayoutError:
        pass
    size, pitch = style.body_sizes[-1]
    body_font = font.load(font.REGULAR, size)
    footer_top = HEIGHT - _extent(font.load(font.REGULAR, style.footer_size))
    per_page = (footer_top - style.title_pitch - _extent(body_font)) // pitch + 1
    lines = [line for text in screen.body for line in wrap(text, body_font, WIDTH - 2 * MARGIN_X)]
    chunks = [lines[i:i + per_page] for i in range(0, len(lines), per_page)]
    return [replace(screen, name=f"{screen.name}-{n}", body=(" ".join(chunk),),
                    footer=f"{n}/{len(chunks)}") for n, chunk in enumerate(chunks, start=1)]
