"""The daemon's optional JSON-lines report of what it sees (for the bench and technicians)."""

import json
import threading
from types import TracebackType
from typing import Any, TextIO


class Report:
    """Writes one JSON object per line; thread-safe; a no-op without a stream."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, item: str, /, **fields: Any) -> None:
        """Write ``{"t": item, **fields}`` as one line and flush."""
        if self._stream is None:
            return
        line = json.dumps({"t": item, **fields}, default=str, sort_keys=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def __enter__(self) -> "Report":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None and not self._stream.isatty() and self._stream.fileno() > 2:
            self._stream.close()
