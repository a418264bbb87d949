"""The daemon's optional JSON-lines report of what it sees (for the bench and technicians)."""

import json
import logging
import threading
from types import TracebackType
from typing import Any, TextIO

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
