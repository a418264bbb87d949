"""Writing accepted records (``db.record_rows``): COPY on PostgreSQL, executemany on SQLite.

Both must keep the INSERT's guarantees: exact bytes stored, a second copy of a (device, seq)
refused, no row of an unregistered device, nothing of a failed batch left behind."""

import os

import pytest
from sqlalchemy import exc, func, select
from sqlalchemy.dialects import postgresql

from fieldcheck_server.db import record_rows
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.tables import records


def _rows(device_id: str, seqs: range) -> list[dict[str, object]]:
    return [
        {
            "device_id": device_id,
            "seq": seq,
            "cose": os.urandom(200 + seq),
            "record_hash": os.urandom(32),
            "prev_hash": os.urandom(32),
            "kind": "location",
            "device_time": 1_764_000_000_000 + seq,
            "received_at": 1_764_000_001_000,
            "source": "127.0.0.1",
        }
        for seq in seqs
    ]


def _register(db: Database, device_id: str) -> None:
    with db.write() as tx:
        assert tx.insert_device(device_id, bytes(32), "unit", 0)


def _count(db: Database) -> int:
    with db.read() as tx:
        return int(tx.connection.execute(select(func.count()).select_from(records)).scalar_one())


def test_rows_are_stored_exactly(db: Database) -> None:
    _register(db, "fc-a")
    rows = _rows("fc-a", range(300))
    with db.write() as tx:
        tx.insert_records(rows)
    with db.read() as tx:
        stored = [dict(row._mapping) for row in
                  tx.connection.execute(select(records).order_by(records.c.seq))]
    assert [{**row, "cose": bytes(row["cose"]), "record_hash": bytes(row["record_hash"]),
             "prev_hash": bytes(row["prev_hash"])} for row in stored] == rows
    with db.read() as tx:
        assert tx.head("fc-a") == (299, rows[-1]["record_hash"])


def test_a_second_copy_of_a_seq_is_refused_and_the_batch_left_out(db: Database) -> None:
    _register(db, "fc-a")
    with db.write() as tx:
        tx.insert_records(_rows("fc-a", range(10)))
    with pytest.raises(exc.IntegrityError), db.write() as tx:
        tx.insert_records(_rows("fc-a", range(10, 20)))  # new rows first, in the same batch
        tx.insert_records(_rows("fc-a", range(9, 11)))
    assert _count(db) == 10


def test_a_repeated_seq_within_one_batch_is_refused(db: Database) -> None:
    _register(db, "fc-a")
    with pytest.raises(exc.IntegrityError), db.write() as tx:
        tx.insert_records(_rows("fc-a", range(5)) + _rows("fc-a", range(4, 5)))
    assert _count(db) == 0


def test_rows_of_an_unregistered_device_are_refused(db: Database) -> None:
    with pytest.raises(exc.IntegrityError), db.write() as tx:
        tx.insert_records(_rows("fc-nobody", range(3)))
    assert _count(db) == 0


def test_the_transaction_is_usable_after_a_batch_that_stored_nothing(db: Database) -> None:
    _register(db, "fc-a")
    with db.write() as tx:
        tx.insert_records([])
        tx.insert_records(_rows("fc-a", range(2)))
    assert _count(db) == 2


def test_copy_sends_each_column_as_its_postgresql_type() -> None:
    """Binary COPY carries no types: each must be the column's, in the table's order."""
    assert record_rows.COLUMNS == tuple(column.name for column in records.columns)
    assert record_rows.copy_types(postgresql.dialect()) == (
        "text", "bigint", "bytea", "bytea", "bytea", "text", "bigint", "bigint", "text"
    )
    assert record_rows.copy_statement() == (
        "COPY records (device_id, seq, cose, record_hash, prev_hash, kind, device_time, "
        "received_at, source) FROM STDIN (FORMAT BINARY)"
    )
