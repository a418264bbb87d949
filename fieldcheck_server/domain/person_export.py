"""One person's records over a period: every device they wore, only while they wore it.

A person's history says which device they wore when (``people``); each device's rows are read
and re-verified by ``export.listing`` and cut to the part of each assignment inside the period
(by the record's device time; a row with no readable record by the time it arrived). The file
formats are the device export's own (``export``), one section per assignment:

- ``json``: the case, the period and per assignment the device id, its public key, the rows
  with their status and raw COSE bytes (base64), and the device's ``fieldcheck-export/1`` file
  (base64), which anyone checks alone with ``fieldcheck_protocol.export``;
- ``csv`` / ``geojson``: the device export's rows and features with a ``device_id``;
- ``cose``: one deterministic CBOR map ``{"format": "fieldcheck-person-export/1",
  "case_number", "since", "until" (ms UTC), "devices": [{"device_id", "from", "until",
  "export": bytes}]}``, each ``export`` a ``fieldcheck-export/1`` file whose signed head
  statement names the last record of that slice (so a slice cut short shows).

Exporting is audited (``person.export``: the period, the format, how many devices and rows).
"""

import base64
import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.record import RecordError, from_ms, to_ms
from fieldcheck_protocol.signature import record_hash
from fieldcheck_server.db.casework import AssignmentRow, CaseTx, PersonRow
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, export
from fieldcheck_server.domain.people import Viewer, person_for
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import CaseConflict, CaseworkError, Forbidden

logger = logging.getLogger(__name__)

FORMAT = "fieldcheck-person-export/1"
FORMATS = export.FORMATS
#: Who may export a person: an officer (their caseload) or an admin; an auditor reads the
#: audit log, not people's records.
EXPORTERS = frozenset({"admin", "officer"})


@dataclass(frozen=True)
class Part:
    """One assignment cut to the period: the device, when, and its rows in that time."""

    assignment: AssignmentRow
    start_ms: int
    end_ms: int
    listing: export.Listing


@dataclass(frozen=True)
class PersonExport:
    """A person and the parts of their assignments inside ``[since_ms, until_ms)``."""

    person: PersonRow
    since_ms: int
    until_ms: int
    parts: list[Part]

    @property
    def row_count(self) -> int:
        """How many rows all parts hold."""
        return sum(len(part.listing.rows) for part in self.parts)


def _row_time(row: export.Row) -> int:
    return to_ms(row.record.device_time) if row.record is not None else row.received_at


def _cut(listing: export.Listing, start_ms: int, end_ms: int) -> export.Listing:
    """The rows in ``[start_ms, end_ms)``; the head is the slice's last verified record."""
    rows = [r for r in listing.rows if start_ms <= _row_time(r) < end_ms]
    verified = [r for r in rows if r.status == "verified" and r.seq is not None]
    head = None
    if verified and verified[-1].seq is not None:
        head = (verified[-1].seq, record_hash(verified[-1].cose))
    return export.Listing(listing.device, rows, head)


def collect(db: Database, viewer: Viewer, case_number: str, since: datetime,
            until: datetime) -> PersonExport:
    """The person's records in the period, if ``viewer`` may export them."""
    if str(viewer.role) not in EXPORTERS:
        raise Forbidden(f"the {viewer.role} role may not export a person's records; ask an "
                        "officer or admin")
    since_ms, until_ms = _ms(since, "--since"), _ms(until, "--until")
    if since_ms >= until_ms:
        raise CaseworkError("--since must be before --until")
    with db.read() as tx:
        person = person_for(tx, viewer, case_number)
        worn = CaseTx(tx).assignments(person_id=person.id)
    parts = []
    for item in worn:
        start = max(item.start_at, since_ms)
        end = min(item.end_at if item.end_at is not None else until_ms, until_ms)
        if start < end:
            cut = _cut(export.listing(db, item.device_id), start, end)
            parts.append(Part(item, start, end, cut))
    return PersonExport(person, since_ms, until_ms, parts)


def _ms(when: datetime, flag: str) -> int:
    try:
        return to_ms(when)
    except RecordError as err:
        raise CaseworkError(f"{flag}: {err.message} (give a time from 1970 on)") from None


def _iso(ms: int) -> str:
    return from_ms(ms, "time").isoformat()


def _json(data: PersonExport, key: Ed25519PrivateKey | None, now_ms: int) -> str:
    devices = []
    for part in data.parts:
        rows = json.loads(export.to_json_text(part.listing.rows))
        for row, item in zip(rows, part.listing.rows, strict=True):
            row["cose_b64"] = base64.b64encode(item.cose).decode("ascii")
        section = {"device_id": part.assignment.device_id,
                   "public_key": part.listing.device.public_key.hex(),
                   "from": _iso(part.start_ms), "until": _iso(part.end_ms), "rows": rows}
        if key is not None:
            signed = export.to_cose_bytes(part.listing, key, now_ms)
            section["export_b64"] = base64.b64encode(signed).decode("ascii")
        devices.append(section)
    top = {"format": FORMAT, "case_number": data.person.case_number,
           "since": _iso(data.since_ms), "until": _iso(data.until_ms), "devices": devices}
    return json.dumps(top, indent=2, sort_keys=True)


def _csv(data: PersonExport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("device_id", *export.CSV_COLUMNS))
    for part in data.parts:
        lines = csv.reader(io.StringIO(export.to_csv_text(part.listing.rows)))
        next(lines)  # the device export's header
        writer.writerows([part.assignment.device_id, *line] for line in lines)
    return buffer.getvalue()


def _geojson(data: PersonExport) -> str:
    features = []
    for part in data.parts:
        collection = json.loads(export.to_geojson_text(part.listing.rows))
        for feature in collection["features"]:
            feature["properties"]["device_id"] = part.assignment.device_id
            features.append(feature)
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=2)


def _cose(data: PersonExport, key: Ed25519PrivateKey, now_ms: int) -> bytes:
    devices = [{"device_id": part.assignment.device_id, "from": part.start_ms,
                "until": part.end_ms,
                "export": export.to_cose_bytes(part.listing, key, now_ms)}
               for part in data.parts]
    return cbor2.dumps({"format": FORMAT, "case_number": data.person.case_number,
                        "since": data.since_ms, "until": data.until_ms, "devices": devices},
                       canonical=True)


def encode(data: PersonExport, fmt: str, key: Ed25519PrivateKey | None, now_ms: int) -> bytes:
    """The export in ``fmt`` (one of :data:`FORMATS`); ``cose`` needs the server's export key
    (``json`` carries each device's signed file only when it is given)."""
    if fmt == "cose":
        if key is None:
            raise CaseConflict("this server has no export key loaded: run `fieldcheck server "
                               "export-key`, then restart `fieldcheck server run`")
        return _cose(data, key, now_ms)
    if fmt == "json":
        return _json(data, key, now_ms).encode("utf-8")
    if fmt == "csv":
        return _csv(data).encode("utf-8")
    if fmt == "geojson":
        return _geojson(data).encode("utf-8")
    raise CaseworkError(f"no export format {fmt!r}: choose one of {', '.join(FORMATS)}")


def person_export(db: Database, who: Principal, case_number: str, since: datetime,
                  until: datetime, fmt: str, key: Ed25519PrivateKey | None,
                  now_ms: int) -> bytes:
    """Collect, encode and audit one person's export."""
    data = collect(db, who, case_number, since, until)
    body = encode(data, fmt, key, now_ms)
    audit.append(db, who, "person.export", data.person.case_number, now_ms,
                 {"since": _iso(data.since_ms), "until": _iso(data.until_ms), "format": fmt,
                  "devices": len(data.parts), "rows": data.row_count})
    logger.info("exported %s rows of %s (%s)", data.row_count, data.person.case_number, fmt)
    return body
