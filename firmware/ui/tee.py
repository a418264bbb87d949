"""Several feedback sinks as one: ``run --report`` beside the configured screen (bench, demo).

Every hook goes to each sink in turn; a sink that fails is logged and the others still get it.
"""

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from firmware.errors import DeviceError
from firmware.ui.base import FeedbackSink

logger = logging.getLogger(__name__)


class TeeSink(FeedbackSink):
    """Forwards every hook to ``sinks``, started and stopped together."""

    def __init__(self, sinks: Sequence[FeedbackSink]) -> None:
        self.sinks = tuple(sinks)

    def _each(self, hook: str, *args: Any) -> None:
        for sink in self.sinks:
            method = getattr(sink, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except (DeviceError, OSError, ValueError) as err:
                logger.error("%s.%s failed: %s", type(sink).__name__, hook, err)

    def ready(self, device_id: str, firmware: str) -> None:  # noqa: D102 - as the base
        self._each("ready", device_id, firmware)

    def guidance(self, code: str, text: str) -> None:  # noqa: D102
        self._each("guidance", code, text)

    def receipt(self, fields: Mapping[str, Any]) -> None:  # noqa: D102
        self._each("receipt", fields)

    def observe(self, kind: str, fields: Mapping[str, Any]) -> None:  # noqa: D102
        self._each("observe", kind, fields)

    def safe_mode(self, reason: str, detail: str, action: str) -> None:  # noqa: D102
        self._each("safe_mode", reason, detail, action)

    def summary(self, fields: Mapping[str, Any]) -> None:  # noqa: D102
        self._each("summary", fields)

    def reminder(self, due: datetime) -> None:  # noqa: D102
        self._each("reminder", due)

    def prompt(self, closes: datetime, first: bool = True) -> None:  # noqa: D102
        self._each("prompt", closes, first)

    def capturing(self) -> None:  # noqa: D102
        self._each("capturing")

    def message(self, text: str) -> None:
        """An officer's message, to the sinks that show one."""
        self._each("message", text)

    def show(self, item: str, fields: Mapping[str, Any]) -> None:  # noqa: D102
        self._each("show", item, fields)

    def _start(self) -> None:
        started: list[FeedbackSink] = []
        try:
            for sink in self.sinks:
                sink.start()
                started.append(sink)
        except DeviceError:
            for sink in reversed(started):
                sink.stop()
            raise

    def _stop(self) -> None:
        for sink in reversed(self.sinks):
            sink.stop()
