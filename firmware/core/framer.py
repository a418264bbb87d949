"""Byte stream -> NMEA lines: resynchronises on ``$``/``!``, rejects garbage, counts by reason.

Receivers and bad wires produce sentences split across reads, CRLF/LF/CR endings, binary
frames (UBX, CASIC) between sentences, noise from a baud mismatch and overlong lines. The
framer keeps only complete printable-ASCII lines that start with ``$`` or ``!`` and counts
everything else under a reason, so a technician can tell a wiring fault from a receiver fault.
"""

import re
from collections import Counter

#: NMEA 0183 allows 82 characters including ``$`` and CRLF; u-blox/Septentrio exceed it a little.
DEFAULT_MAX_LINE = 120
_EOL = re.compile(rb"[\r\n]")
_START = re.compile(rb"[$!]")
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")
_BLANK = b" \r\n\t\x00"


class LineFramer:
    """Incremental framer; feed it chunks, it returns complete lines (without terminators)."""

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self.rejected: Counter[str] = Counter()
        self.bytes_in = 0
        self.garbage_bytes = 0
        self._buf = bytearray()
        self._skipping = False  # inside the tail of an overlong line: not counted twice

    def feed(self, data: bytes) -> list[str]:
        """Add ``data`` and return every line it completed."""
        self.bytes_in += len(data)
        buf = self._buf
        buf += data
        lines: list[str] = []
        pos = 0
        size = len(buf)
        while pos < size:
            found = _START.search(buf, pos)
            if found is None:
                self._garbage(buf, pos, size, resynced=False)
                pos = size
                break
            start = found.start()
            if start > pos:
                self._garbage(buf, pos, start, resynced=True)
            pos = start
            end_match = _EOL.search(buf, start)
            if end_match is None:
                if size - start > self.max_line:
                    self.rejected["overlong"] += 1
                    self._skipping = True
                    pos = start + 1
                    continue
                break  # wait for the rest of the line
            end = end_match.start()
            pos = self._take(buf, start, end, lines)
        del buf[:pos]
        return lines

    def _take(self, buf: bytearray, start: int, end: int, lines: list[str]) -> int:
        """Judge the candidate line ``buf[start:end]``; return where scanning resumes."""
        restart = _START.search(buf, start + 1, end)
        if restart is not None:
            # A new sentence began before this one ended: the first was cut short.
            self.rejected["truncated"] += 1
            return restart.start()
        if end - start > self.max_line:
            self.rejected["overlong"] += 1
            return end + 1
        raw = bytes(buf[start:end])
        if _NOT_PRINTABLE.search(raw) is not None:
            self.rejected["non_ascii"] += 1
            return end + 1
        self._skipping = False
        lines.append(raw.decode("ascii"))
        return end + 1

    def _garbage(self, buf: bytearray, start: int, end: int, resynced: bool) -> None:
        """Count non-sentence bytes once per run; the tail of an overlong line is not garbage."""
        if self._skipping:
            # The overlong line's tail lasts until the next sentence start.
            self._skipping = not resynced
            return
        chunk = bytes(buf[start:end]).strip(_BLANK)
        if not chunk:
            return
        self.garbage_bytes += len(chunk)
        self.rejected["garbage"] += 1
