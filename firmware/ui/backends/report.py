"""The JSON-lines report feedback sink: what the unit sees, one object a line (bench, tech)."""

import json
import logging
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from firmware.core.settings import setting
from firmware.errors import ConfigError
from firmware.ui.base import FeedbackSink

logger = logging.getLogger(__name__)


class Report:
    """Writes one JSON object per line; thread-safe; a no-op without a stream."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._owned = stream  # closed on exit even after a failure dropped ``_stream``
        self._lock = threading.Lock()

    def write(self, item: str, /, **fields: Any) -> None:
        """Write ``{"t": item, **fields}`` as one line and flush.

        The report is optional: a stream that fails (reader gone, disk full, closed) is dropped
        with one warning, because the callers are recording threads that must go on.
        """
        if self._stream is None:
            return
        line = json.dumps({"t": item, **fields}, default=str, sort_keys=False)
        with self._lock:
            stream = self._stream
            if stream is None:
                return
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError) as err:  # ValueError: write to a closed file
                self._stream = None
                logger.warning("report stream failed (%s); the daemon goes on without it", err)

    def __enter__(self) -> "Report":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stream = self._owned
        if stream is None or stream.closed or stream.isatty() or stream.fileno() <= 2:
            return
        try:
            stream.close()
        except OSError as err:  # its buffer could not be flushed: the report was already dropped
            logger.warning("closing the report stream failed: %s", err)


@dataclass(frozen=True)
class Config:
    """Where the report goes."""

    path: str = setting("-", "file the JSON lines are appended to; '-' for standard output")


class ReportSink(FeedbackSink):
    """The feedback sink as JSON lines: ``{"t": item, **fields}`` per item."""

    def __init__(self, config: Config, stream: TextIO | None = None) -> None:
        self.config = config
        self._given = stream
        self.report = Report(stream)

    def show(self, item: str, fields: Mapping[str, Any]) -> None:
        """Write one line (dropped with one warning if the stream fails)."""
        self.report.write(item, **fields)

    def _start(self) -> None:
        if self._given is not None:
            return
        if self.config.path == "-":
            self.report = Report(sys.stdout)
            return
        try:
            stream = Path(self.config.path).open("a", encoding="utf-8")  # noqa: SIM115
        except OSError as err:
            raise ConfigError(f"[ui] report file {self.config.path} cannot be opened: "
                              f"{err.strerror}", "check that its folder exists and is "
                              "writable, or choose another path") from err
        self.report = Report(stream)

    def _stop(self) -> None:
        if self._given is None:  # a stream handed in (tests, a forked child) is the caller's
            self.report.__exit__(None, None, None)


def create(config: Config, stream: TextIO | None = None) -> ReportSink:
    """Build the sink; ``stream`` (tests) replaces the configured path."""
    return ReportSink(config, stream)
