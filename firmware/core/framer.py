"""Byte stream -> NMEA lines: resynchronises on ``$``/``!``, rejects garbage, counts by reason.

Receivers and bad wires produce sentences split across reads, CRLF/LF/CR endings, binary
frames (UBX, CASIC) between sentences, noise from a baud mismatch and overlong lines. The
framer keeps only complete printable-ASCII lines that start with ``$`` or ``!`` and counts
everything else under a reason, so a technician can tell a wiring fault from a receiver fault.

What a healthy receiver sends, a run of complete clean lines, is checked with one regular
expression and split at its line ends (no per-line Python work); anything else in a read (and the
incomplete line at its end) goes through the line-by-line scan, which gives the same lines and
counts for the clean run as well.
"""

import re
from collections import Counter

#: NMEA 0183 allows 82 characters including ``$`` and CRLF; u-blox/Septentrio exceed it a little.
DEFAULT_MAX_LINE = 120
_EOL = re.compile(rb"[\r\n]")
_START = re.compile(rb"[$!]")
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")
_BLANK = b" \r\n\t\x00"


def _clean_run(max_line: int) -> "re.Pattern[bytes] | None":
    """Line ends, then lines of a start character and at most ``max_line - 1`` printable
    characters other than ``$``/``!``, each followed by line ends: what the scan would take whole,
    counting nothing (line ends between lines are blanks it ignores)."""
    if max_line < 1:
        return None
    return re.compile(rb"[\r\n]*(?:[$!][\x20\x22\x23\x25-\x7e]{0,%d}[\r\n]+)*" % (max_line - 1))


class LineFramer:
    """Incremental framer; feed it chunks, it returns complete lines (without terminators).

    Linear in its input: each byte is looked at a bounded number of times (``scanned`` counts
    them, for tests), however many ``$`` or how few line ends a hostile stream holds.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self.rejected: Counter[str] = Counter()
        self.bytes_in = 0
        self.garbage_bytes = 0
        self.scanned = 0  # bytes examined by the searches: the framer's work
        self._buf = bytearray()
        self._skipping = False  # inside the tail of an overlong line: not counted twice
        self._clean = _clean_run(max_line)

    def feed(self, data: bytes) -> list[str]:
        """Add ``data`` and return every line it completed."""
        self.bytes_in += len(data)
        buf = self._buf
        buf += data
        lines: list[str] = []
        pos = 0 if self._skipping else self._clean_lines(buf, lines)
        size = len(buf)
        eol = -1  # the next line end at or after the current start; -1: not searched yet
        while pos < size:
            start = self._search(_START, buf, pos, size)
            if start < 0:
                self._garbage(buf, pos, size, resynced=False)
                pos = size
                break
            if start > pos:
                self._garbage(buf, pos, start, resynced=True)
            if eol < start:  # the last line end found lies behind: look for the next one once
                eol = self._search(_EOL, buf, start, size)
                eol = size if eol < 0 else eol  # size: no line end in the buffer
            # Each search below starts where the previous one ended, so no byte is scanned twice.
            restart = self._search(_START, buf, start + 1, eol)
            if restart >= 0:
                self.rejected["truncated"] += 1  # a new sentence began before this one ended
                pos = restart
            elif eol < size:
                pos = self._take(buf, start, eol, lines)
            elif size - start > self.max_line:
                self.rejected["overlong"] += 1
                self._skipping = True
                pos = size
            else:
                pos = start
                break  # wait for the rest of the line
        del buf[:pos]
        return lines

    def _clean_lines(self, buf: bytearray, lines: list[str]) -> int:
        """Take the clean run of whole lines at the start of ``buf``; return where it ends.

        0 when the buffer up to its last line end is not one clean run: then the scan judges
        all of it (it alone knows the reasons).
        """
        last = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
        if last < 0 or self._clean is None or self._clean.fullmatch(buf, 0, last + 1) is None:
            return 0
        self.scanned += last + 1
        # A clean run holds no line break but CR and LF: its lines are the non-empty pieces
        # between them (str.splitlines, a C loop, instead of a regular expression per line).
        lines += filter(None, buf[: last + 1].decode("ascii").splitlines())
        return last + 1

    def _search(self, pattern: "re.Pattern[bytes]", buf: bytearray, start: int, end: int) -> int:
        """Position of ``pattern`` in ``buf[start:end]`` or -1; counts the bytes examined."""
        found = pattern.search(buf, start, end)
        self.scanned += (found.start() + 1 if found else end) - start
        return found.start() if found else -1

    def _take(self, buf: bytearray, start: int, end: int, lines: list[str]) -> int:
        """Judge the candidate line ``buf[start:end]``; return where scanning resumes."""
        if end - start > self.max_line:
            self.rejected["overlong"] += 1
            return end + 1
        raw = bytes(buf[start:end])
        self.scanned += len(raw)
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
