"""Bench screen: every screen rendered to a numbered PNG in a folder (demo, review, tests).

Frames are named ``NNNN-<screen>.png`` in the order shown, so the folder reads as the day the
wearer saw; cues are written beside them as ``NNNN-cue-<name>.txt`` with the pattern.
"""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from firmware.core.settings import setting
from firmware.errors import ConfigError
from firmware.ui import layout
from firmware.ui.patterns import PATTERNS, Cue
from firmware.ui.screen_sink import ScreenSink, check_language, words_for
from firmware.ui.screens import Screen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """Where the frames go and in which language."""

    dir: str = setting("screens", "folder the PNG frames are written to (created)")
    language: str = setting("en", "the wearer's language: en, es, pt or ht")
    scale: int = setting(1, "pixel scale of the PNGs (1 = the display's 128x64)")

    def __post_init__(self) -> None:
        check_language(self.language)


class BenchSink(ScreenSink):
    """Writes each presented screen as a PNG frame; thread-safe."""

    def __init__(self, config: Config) -> None:
        super().__init__(words_for(config.language))
        self.config = config
        self.folder = Path(config.dir)
        self.frames: list[Path] = []
        self._count_lock = threading.Lock()

    def _next(self, name: str, suffix: str) -> Path:
        with self._count_lock:
            path = self.folder / f"{len(self.frames):04d}-{name}{suffix}"
            self.frames.append(path)
        return path

    def present(self, screen: Screen) -> None:
        """Render ``screen`` to the next numbered PNG."""
        image = layout.render(screen)
        if self.config.scale > 1:
            image = image.resize((image.width * self.config.scale,
                                  image.height * self.config.scale))
        image.save(self._next(screen.name, ".png"))

    def signal(self, cue: Cue) -> None:
        """Note the cue and its rhythm beside the frames."""
        pattern = PATTERNS[cue]
        self._next(f"cue-{cue.value}", ".txt").write_text(
            f"{cue.value}: on {pattern.rhythm} s, {pattern.duration_s:.2f} s in all\n",
            encoding="utf-8")

    def _start(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"[ui] bench folder {self.folder} cannot be created: "
                              f"{err.strerror}", "choose a writable [ui] dir") from err
        logger.info("bench screen: frames in %s (%s)", self.folder, self.words.language)


def create(config: Config) -> BenchSink:
    """Build the bench sink."""
    return BenchSink(config)
