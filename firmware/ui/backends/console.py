"""Console screen: each screen as a few text lines on standard output or a file (bench, ssh)."""

import logging
import sys
import threading
from dataclasses import dataclass
from typing import TextIO

from firmware.core.settings import setting
from firmware.ui.patterns import Cue
from firmware.ui.screen_sink import ScreenSink, check_language, words_for
from firmware.ui.screens import Screen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """The console's language."""

    language: str = setting("en", "the wearer's language: en, es, pt or ht")

    def __post_init__(self) -> None:
        check_language(self.language)


class ConsoleSink(ScreenSink):
    """Writes ``[name] title | body | footer`` per screen; a failing stream is dropped."""

    def __init__(self, config: Config, stream: TextIO | None = None) -> None:
        super().__init__(words_for(config.language))
        self._stream: TextIO | None = stream or sys.stdout
        self._write_lock = threading.Lock()

    def present(self, screen: Screen) -> None:
        """One line per screen."""
        parts = [screen.title, *screen.body, *([screen.footer] if screen.footer else [])]
        self._write(f"[{screen.name}] " + " | ".join(parts))

    def signal(self, cue: Cue) -> None:
        """The cue's name (a console has no buzzer)."""
        self._write(f"[cue] {cue.value}")

    def _write(self, line: str) -> None:
        with self._write_lock:
            if self._stream is None:
                return
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError) as err:
                self._stream = None
                logger.warning("console screen stream failed (%s); going on without it", err)


def create(config: Config, stream: TextIO | None = None) -> ConsoleSink:
    """Build the console sink; ``stream`` (tests) replaces standard output."""
    return ConsoleSink(config, stream)
