"""Which acknowledged location records to drop when storage runs low (the thinning policy).

Design decision: thinning never touches an unacknowledged record, nor any check-in or event.
Dropping an unacknowledged location record would leave a gap the server cannot verify across
(the next record's prev_hash names bytes it never sees), and "nothing lost unnoticed" would
depend on extra machinery. Acknowledged records are already held, verified, by the server, so
thinning them only shortens the device's local copy early. Location records not yet
acknowledged are protected, and when storage is low the caller should also record locations less
often (``RecordStore.status().storage_low``) until the backlog drains.
"""

from collections.abc import Sequence


def thin_plan(location_seqs: Sequence[int], keep_every: int) -> list[int]:
    """The seqs to delete from ``location_seqs`` (ascending): keep the 1st, (N+1)th, ..."""
    if keep_every < 1:
        raise ValueError("keep_every must be at least 1")
    return [seq for index, seq in enumerate(location_seqs) if index % keep_every != 0]
