"""Every screen in every language fits 128x64 in the chosen font, with no text cut off."""

import pytest
from PIL import Image, ImageChops

from firmware.locale import messages
from firmware.locale.catalog import LANGUAGES, translator
from firmware.ui import font, layout, screens
from tests.firmware.ui.screen_cases import every_screen

LANGS = sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGS)
def test_every_screen_fits_without_cutting_text(language: str) -> None:
    for screen in every_screen(translator(language)):
        image = layout.render(screen)
        assert image.size == (128, 64) and image.getbbox() is not None, screen.name
        # Drawn on a larger canvas, no ink may fall outside the display's 128x64.
        big = layout.render(screen, size=(256, 128))
        assert ImageChops.difference(big.crop((0, 0, 128, 64)), image).getbbox() is None
        outside = big.copy()
        outside.paste(0, (0, 0, 128, 64))
        assert outside.getbbox() is None, (language, screen.name)
        for line in layout.place(screen):
            assert line.font.getlength(line.text) <= 128 - 2 * layout.MARGIN_X
            assert line.y + line.font.getbbox(line.text)[3] <= 64, (language, line.text)


@pytest.mark.parametrize("language", LANGS)
def test_the_font_has_every_character_of_every_text(language: str) -> None:
    words = translator(language)
    faces = [font.load(font.REGULAR, 11), font.load(font.BOLD, 12)]
    used = {c for message_id in messages.ALL for c in words.text(message_id)} | set("0123456789·")
    missing = {c for c in used for face in faces if not font.has_glyph(face, c)}
    assert not missing, (language, sorted(missing))


def test_the_glyph_check_finds_a_missing_character() -> None:
    assert not font.has_glyph(font.load(font.REGULAR, 11), "\u4e2d")  # no CJK in Lato
    assert font.has_glyph(font.load(font.REGULAR, 11), "ò")


def test_a_word_wider_than_the_screen_is_refused_not_cut() -> None:
    too_wide = screens.Screen("test", "Title", ("W" * 40,))
    with pytest.raises(layout.LayoutError, match="wider than the screen"):
        layout.place(too_wide)


def test_too_many_lines_are_refused() -> None:
    with pytest.raises(layout.LayoutError, match="lines"):
        layout.place(screens.Screen("test", "Title", ("word " * 80,)))


def test_a_long_officer_message_is_paged_and_every_word_shown() -> None:
    text = " ".join(f"word{i}" for i in range(60))
    pages = layout.pages(screens.officer_message(translator("es"), text))
    assert len(pages) > 1 and [p.footer for p in pages][-1] == f"{len(pages)}/{len(pages)}"
    assert " ".join(" ".join(p.body) for p in pages).split() == text.split()
    for page in pages:
        layout.place(page)


def test_the_image_is_one_bit_white_on_black() -> None:
    image = layout.render(screens.battery_low(translator("en"), 9))
    assert isinstance(image, Image.Image) and image.mode == "1"
    assert image.convert("L").getextrema() == (0, 255)
