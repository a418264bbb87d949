"""Every message id in every language, placeholders kept, and the compiled catalogues current."""

import io
import string

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from firmware.locale import messages
from firmware.locale.catalog import (
    LANGUAGES,
    LOCALE_DIR,
    CatalogueError,
    mo_path,
    translator,
)


def fields_of(text: str) -> set[str]:
    """The ``str.format`` placeholder names in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_declared_ids_are_the_template() -> None:
    with (LOCALE_DIR / "fieldcheck.pot").open("rb") as stream:
        template = read_po(stream)
    assert {m.id for m in template if m.id} == set(messages.ALL)
    assert len(messages.ALL) == len(set(messages.ALL)) > 30


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_id_has_a_text_with_the_same_placeholders(language: str) -> None:
    words, english = translator(language), translator("en")
    for message_id in messages.ALL:
        assert words.has(message_id), (language, message_id)
        text = words.text(message_id)
        assert text.strip() == text and text != message_id, (language, message_id)
        assert fields_of(text) == fields_of(english.text(message_id)), (language, message_id)


def test_the_languages_say_different_things() -> None:
    texts = {lang: translator(lang).text(messages.OUTCOME_NO_MATCH) for lang in LANGUAGES}
    assert len(set(texts.values())) == len(LANGUAGES)
    assert texts["en"] == "Check-in recorded. A person will review it."


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_failed_match_never_accuses(language: str) -> None:
    text = translator(language).text(messages.OUTCOME_NO_MATCH).lower()
    for word in ("fail", "fraud", "wrong", "violation", "falló", "fraude", "falhou", "echwe"):
        assert word not in text


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "fieldcheck.po"
    with po.open("rb") as stream:
        catalogue = read_po(stream, locale=language)
    assert not catalogue.fuzzy and not [m.id for m in catalogue if m.id and m.fuzzy]
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert mo_path(language).read_bytes() == compiled.getvalue(), "run `make locale`"


def test_filled_placeholders() -> None:
    assert translator("es").text(messages.RESULT_RECEIPT, number=42) == "Recibo 42"
    assert translator("ht").text(messages.IDLE_BATTERY, percent=7) == "Batri 7%"


def test_an_unknown_language_says_which_exist() -> None:
    with pytest.raises(CatalogueError, match="choose one of en, es, ht, pt"):
        translator("fr")
