"""The read side: records with their verification status, as JSON, CSV, GeoJSON or raw COSE."""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.export import (
    Export,
    HeadStatement,
    encode_export,
    server_public_key,
    sign_head,
)
from fieldcheck_protocol.record import ZERO_HASH, Record, RecordError, to_json
from fieldcheck_protocol.signature import record_hash, verify_record
from fieldcheck_server.db.engine import Database
from fieldcheck_server.db.retention import RetentionTx
from fieldcheck_server.db.tx import DeviceRow, QuarantineRow
from fieldcheck_server.errors import RegistryError

PAGE = 5000


@dataclass(frozen=True)
class Row:
    """One record or piece of evidence as an officer sees it."""

    seq: int | None
    status: str  # "verified", "quarantined" or "tampered" (stored bytes no longer verify)
    reason: str
    record: Record | None
    cose: bytes
    received_at: int


@dataclass(frozen=True)
class Listing:
    """One device and everything the server holds of it."""

    device: DeviceRow
    rows: list[Row]
    #: (seq, record_hash) of the newest stored record, as the database says.
    head: tuple[int, bytes] | None


def rows(db: Database, device_id: str) -> list[Row]:
    """Stored records (re-verified against the registered key and the chain) then evidence."""
    return listing(db, device_id).rows


def listing(db: Database, device_id: str) -> Listing:
    """The device and its rows: stored records (re-verified), then evidence."""
    with db.read() as tx:
        device = tx.device(device_id)
        if device is None:
            raise RegistryError(f"device {device_id} is not registered (`fieldcheck device list`)")
        result: list[Row] = []
        # Retention deletes the oldest records and keeps the last one's hash: check from there.
        anchor = RetentionTx(tx).record_anchor(device_id)
        prev, from_seq = (anchor[1], anchor[0] + 1) if anchor is not None else (ZERO_HASH, 0)
        while page := tx.records(device_id, from_seq, PAGE):
            for seq, cose, received_at in page:
                result.append(_stored(seq, cose, received_at, device.public_key, prev))
                prev, from_seq = record_hash(cose), seq + 1
        result += [_evidence(q, device.public_key) for q in tx.quarantined(device_id)]
        head = tx.head(device_id)
    return Listing(device, result, head)


def _stored(seq: int, cose: bytes, received_at: int, key: bytes, prev: bytes) -> Row:
    try:
        record = verify_record(cose, key)
    except RecordError as err:
        return Row(seq, "tampered", f"{err.code}: {err.message}", None, cose, received_at)
    if record.seq != seq or record.prev_hash != prev:
        return Row(seq, "tampered", "chain broken in storage", record, cose, received_at)
    return Row(seq, "verified", "", record, cose, received_at)


def _evidence(q: QuarantineRow, key: bytes) -> Row:
    # Only evidence the device's key signed (a fork, a gap, a broken link) shows its content: a
    # record whose signature fails says nothing about where the unit was, so it is no place.
    try:
        record: Record | None = verify_record(q.raw, key)
    except RecordError:
        record = None  # unsigned, forged or unreadable: the raw bytes are the evidence
    return Row(q.seq, "quarantined", f"{q.code}: {q.message}", record, q.raw, q.received_at)


def to_json_text(items: list[Row]) -> str:
    """A JSON array; quarantined records show their (unverified) content for review."""
    out = []
    for row in items:
        out.append(
            {
                "seq": row.seq,
                "status": row.status,
                "reason": row.reason,
                "received_at_ms": row.received_at,
                "record_hash": record_hash(row.cose).hex(),
                "record": to_json(row.record) if row.record is not None else None,
            }
        )
    return json.dumps(out, indent=2, sort_keys=True)


CSV_COLUMNS = (
    "seq",
    "status",
    "reason",
    "kind",
    "device_time",
    "gps_time",
    "lat",
    "lon",
    "fix_mode",
    "hdop",
    "body",
    "record_hash",
)


def to_csv_text(items: list[Row]) -> str:
    """One line per row; ``body`` is the kind's own fields as compact JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in items:
        data = to_json(row.record) if row.record is not None else {}
        fix = data.get("fix") or {}
        writer.writerow(
            [
                row.seq,
                row.status,
                row.reason,
                data.get("kind", ""),
                data.get("device_time", ""),
                data.get("gps_time", ""),
                fix.get("lat", ""),
                fix.get("lon", ""),
                fix.get("mode", ""),
                fix.get("hdop", ""),
                json.dumps(data.get("body", {}), sort_keys=True, separators=(",", ":")),
                record_hash(row.cose).hex(),
            ]
        )
    return buffer.getvalue()


def to_geojson_text(items: list[Row]) -> str:
    """A FeatureCollection of the records that carry a fix (quarantined ones flagged)."""
    features = []
    for row in items:
        if row.record is None or row.record.fix is None:
            continue
        data = to_json(row.record)
        fix = data.pop("fix")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [fix["lon"], fix["lat"]]},
                "properties": {**data, "fix": fix, "status": row.status, "reason": row.reason},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=2)


def to_cose_bytes(items: Listing, server_key: Ed25519PrivateKey, now_ms: int) -> bytes:
    """The ``fieldcheck_protocol.export`` file: device id, public key, the verified records'
    COSE_Sign1 bytes and the server's signed statement of the head, which anyone can check
    alone (docs/verify-export.md)."""
    verified = tuple(row.cose for row in items.rows if row.status == "verified")
    seq, head_hash = items.head if items.head is not None else (None, None)
    statement = HeadStatement(items.device.device_id, seq, head_hash, now_ms)
    return encode_export(
        Export(
            items.device.device_id,
            items.device.public_key,
            verified,
            sign_head(statement, server_key),
            server_public_key(server_key),
        )
    )


#: The text formats (``cose`` is binary and signed: see :func:`to_cose_bytes`).
TEXT_FORMATS: dict[str, Callable[[list[Row]], str]] = {
    "json": to_json_text,
    "csv": to_csv_text,
    "geojson": to_geojson_text,
}
FORMATS = (*TEXT_FORMATS, "cose")
