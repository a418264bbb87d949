"""Loads a language's compiled catalogue and turns message ids into the wearer's words.

The compiled ``.mo`` files are checked in beside their ``.po`` sources (four languages, a few KB
each), so a unit needs neither Babel nor a build step; ``tests/firmware/locale`` fails when a
``.mo`` is older than its ``.po`` (rebuild with ``make locale``).
"""

import gettext
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

DOMAIN: Final = "fieldcheck"
LOCALE_DIR: Final = Path(__file__).resolve().parent
#: The languages a wearer can choose (``[ui] language``): English, Spanish, Portuguese, Haitian
#: Creole. Every one carries every message id.
LANGUAGES: Final[Mapping[str, str]] = {
    "en": "English", "es": "Español", "pt": "Português", "ht": "Kreyòl ayisyen",
}
DEFAULT_LANGUAGE: Final = "en"


class CatalogueError(LookupError):
    """A language is unknown or its compiled catalogue is missing or unreadable."""


class Translator:
    """One language's texts by message id; ``text(id, **fields)`` fills the placeholders."""

    def __init__(self, language: str, catalogue: gettext.NullTranslations) -> None:
        self.language = language
        self._catalogue = catalogue

    def text(self, message_id: str, /, **fields: Any) -> str:
        """The text for ``message_id``; the id itself when the catalogue lacks it (logged)."""
        found = self._catalogue.gettext(message_id)
        if found == message_id:
            logger.warning("message id %s is missing from the %s catalogue", message_id,
                           self.language)
            return message_id
        return found.format(**fields) if fields else found

    def has(self, message_id: str) -> bool:
        """Whether the catalogue translates ``message_id``."""
        return self._catalogue.gettext(message_id) != message_id


def check_language(language: str) -> str:
    """``language`` when it is one of :data:`LANGUAGES`; otherwise a CatalogueError saying which."""
    if language not in LANGUAGES:
        raise CatalogueError(f"language {language!r} has no catalogue; choose one of "
                             f"{', '.join(sorted(LANGUAGES))}")
    return language


def mo_path(language: str) -> Path:
    """Where ``language``'s compiled catalogue lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def translator(language: str = DEFAULT_LANGUAGE) -> Translator:
    """The translator for ``language``; CatalogueError when it is unknown or not compiled."""
    check_language(language)
    path = mo_path(language)
    try:
        with path.open("rb") as stream:
            catalogue = gettext.GNUTranslations(stream)
    except OSError as err:
        raise CatalogueError(f"the {language} catalogue {path} cannot be read "
                             f"({err.strerror}); reinstall the firmware or run "
                             "`make locale`") from err
    return Translator(language, catalogue)
