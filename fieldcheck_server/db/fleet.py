"""Typed reads for the fleet view: per-device activity in one query, a device's newest records."""

from dataclasses import dataclass

from sqlalchemy import func, select

from fieldcheck_server.db.tables import records
from fieldcheck_server.db.tx import Tx


@dataclass(frozen=True)
class Activity:
    """What the server holds of one device, without decoding a record."""

    last_received: int
    head_seq: int
    count: int


def activity(tx: Tx) -> dict[str, Activity]:
    """Every device that has sent records: last receipt, newest seq, how many (one query)."""
    r = records.c
    rows = tx.connection.execute(
        select(r.device_id, func.max(r.received_at), func.max(r.seq), func.count())
        .group_by(r.device_id)
    )
    return {row[0]: Activity(int(row[1]), int(row[2]), int(row[3])) for row in rows}


def newest_records(tx: Tx, device_id: str, limit: int) -> list[tuple[int, bytes, int]]:
    """(seq, cose, received_at) of a device's newest ``limit`` records, newest first."""
    r = records.c
    rows = tx.connection.execute(
        select(r.seq, r.cose, r.received_at)
        .where(r.device_id == device_id)
        .order_by(r.seq.desc())
        .limit(limit)
    )
    return [(int(row[0]), bytes(row[1]), int(row[2])) for row in rows]
