"""JSON shapes of casework for the operator API and the pages' map: plain dicts, no HTTP."""

import json
from typing import Any

from fieldcheck_protocol.record import Kind
from fieldcheck_server.domain.expected import Outcome
from fieldcheck_server.domain.people import Person
from fieldcheck_server.domain.record_view import what
from fieldcheck_server.domain.review import Item
from fieldcheck_server.domain.timeline import Entry, Timeline


def person_json(person: Person) -> dict[str, Any]:
    """A person on a list."""
    row = person.row
    return {"case_number": row.case_number, "name": row.name, "languages": list(person.languages),
            "officer": row.officer, "device_id": person.device_id}


def entry_json(entry: Entry) -> dict[str, Any]:
    """One record of a timeline: what, the check-in's verdict and figures, the fix."""
    record, body = entry.record, entry.record.body
    fix = record.fix
    checkin = record.kind is Kind.CHECKIN
    return {
        "device_id": entry.device_id, "receipt": record.seq, "kind": record.kind.value,
        "device_time": record.device_time.isoformat(), "received_at_ms": entry.received_at,
        "what": what(record),
        "verdict": body.get("verdict") if checkin else None,
        "trigger": body.get("trigger") if checkin else None,
        "score": body.get("score"), "liveness": body.get("liveness"),
        "quality": body.get("detector_confidence", body.get("quality")),
        "event": body.get("type") if record.kind is Kind.EVENT else None,
        "fix": None if fix is None else {"lat": fix.lat, "lon": fix.lon, "hdop": fix.hdop},
    }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """An expected window and what arrived for it."""
    window = outcome.window
    return {"due": window.due.isoformat(), "opens": window.opens.isoformat(),
            "closes": window.closes.isoformat(), "status": outcome.status.value,
            "reason": outcome.reason, "checkins": list(outcome.checkin_seqs)}


def timeline_json(view: Timeline) -> dict[str, Any]:
    """A person's timeline."""
    person = view.person
    return {
        "person": {"case_number": person.case_number, "name": person.name,
                   "officer": person.officer},
        "assignments": [{"device_id": a.device_id, "start_ms": a.start_at, "end_ms": a.end_at,
                         "reason": a.reason} for a in view.assignments],
        "entries": [entry_json(e) for e in view.entries],
        "expected": [outcome_json(o) for o in view.expected],
        "zones": [{"name": z.name, "rule": z.rule, "hours": z.hours, "timezone": z.timezone,
                   "geometry": json.loads(z.geometry)} for z in view.zones],
    }


def item_json(item: Item) -> dict[str, Any]:
    """A review item with its evidence and decision."""
    row = item.row
    return {"id": row.id, "kind": row.kind, "device_id": row.device_id, "seq": row.seq,
            "at_ms": row.at, "summary": row.summary, "evidence": item.evidence,
            "decision": row.decision, "reason": row.reason, "decided_by": row.decided_by,
            "decided_at_ms": row.decided_at}

