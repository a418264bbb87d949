"""What the unit remembers of the commands it answered, durably, so no command runs twice.

A small JSON file in the data directory (``commands.json``, 0600), replaced atomically and
fsynced before a command runs: the highest sequence number executed, and the ids and sequence
numbers of the last :data:`KEEP` commands answered (older ones are below the highest executed,
so the out-of-order rule refuses them anyway).
"""

import json
import logging
import threading
from pathlib import Path

from firmware.errors import StoreError
from firmware.private_file import replace_private

logger = logging.getLogger(__name__)

STATE_FILE = "commands.json"
#: How many answered ids and sequence numbers are kept.
KEEP = 512


class CommandState:
    """The replay guard: load once, :meth:`remember` (durable) before running a command."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE
        self._lock = threading.Lock()
        self.highest_seq = 0
        self._ids: list[str] = []
        self._seqs: list[int] = []
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as err:
            raise StoreError(f"cannot read the command state {self.path}: {err.strerror}",
                             "check the data directory's permissions") from err
        try:
            data = json.loads(text)
            highest, ids, seqs = int(data["highest_seq"]), data["ids"], data["seqs"]
            self._ids = [str(item) for item in ids][-KEEP:]
            self._seqs = [int(item) for item in seqs][-KEEP:]
        except (ValueError, KeyError, TypeError) as err:
            # Starting from nothing would let every old command run again: refuse instead.
            raise StoreError(f"the command state {self.path} is corrupt ({err!r})",
                             "move it away only if the server's queue for this unit is empty "
                             "(`fieldcheck device commands --id ...`)") from err
        self.highest_seq = highest

    @property
    def ids(self) -> frozenset[str]:
        """Ids answered so far (the last KEEP)."""
        with self._lock:
            return frozenset(self._ids)

    @property
    def seqs(self) -> frozenset[int]:
        """Sequence numbers answered so far (the last KEEP)."""
        with self._lock:
            return frozenset(self._seqs)

    def remember(self, command_id: str, seq: int, executed: bool) -> None:
        """Record an answered command durably; ``executed`` moves the highest sequence number."""
        with self._lock:
            self._ids = [*self._ids, command_id][-KEEP:]
            self._seqs = [*self._seqs, seq][-KEEP:]
            if executed:
                self.highest_seq = max(self.highest_seq, seq)
            data = {"highest_seq": self.highest_seq, "ids": self._ids, "seqs": self._seqs}
            try:
                replace_private(self.path, json.dumps(data).encode("utf-8"))
            except OSError as err:
                raise StoreError(f"cannot write the command state {self.path}: {err.strerror}",
                                 "check free space and permissions of the data directory"
                                 ) from err
