"""Device-side record benchmark: records built, signed (ledger) and committed (store) per second,
and bytes per record."""

import base64
import json
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import cbor2

from fieldcheck_protocol.clock import Clock, SystemClock
from fieldcheck_protocol.record import FixSummary, Kind, encode_payload, to_json
from fieldcheck_protocol.signature import sign_record
from firmware.services.ledger import Appended, Ledger
from firmware.store.backends.sqlite import Config, create
from firmware.store.identity import create_identity

# A realistic mix: mostly periodic locations, some check-ins and events (8:1:1).
_MIX: tuple[tuple[Kind, Mapping[str, Any], bool], ...] = (
    *((Kind.LOCATION, {"interval": 300}, True),) * 8,
    (Kind.CHECKIN, {"verdict": "match", "score": 0.8312, "liveness": 0.97, "quality": 0.74,
                    "guidance": "ok"}, True),
    (Kind.EVENT, {"type": "battery", "details": {"percent": 61, "charging": False}}, False),
)


def _fix(clock: Clock, index: int) -> FixSummary:
    return FixSummary(lat=52.520008 + index * 1e-6, lon=13.404954 - index * 1e-6, alt_m=34.2,
                      mode="3d", hdop=0.9, sats_used=9,
                      gps_time=clock.now() - timedelta(milliseconds=400), age_s=0.4)


def _json_size(done: Appended) -> int:
    """Bytes of the same content as compact JSON, signature included (base64url)."""
    signature = cbor2.loads(done.cose).value[3]
    doc = {**to_json(done.record),
           "signature": base64.urlsafe_b64encode(signature).decode().rstrip("=")}
    return len(json.dumps(doc, separators=(",", ":")).encode())


def run(count: int, directory: Path, clock: Clock | None = None) -> dict[str, Any]:
    """Append ``count`` records to a fresh store under ``directory``; return the figures."""
    clock = clock or SystemClock()
    with tempfile.TemporaryDirectory(prefix="fieldcheck-bench-", dir=directory) as work:
        identity = create_identity(Path(work))
        store = create(Config(), data_dir=Path(work), identity=identity, clock=clock)
        store.start()
        ledger = Ledger(store, identity, clock)
        try:
            start = clock.monotonic()
            done = []
            for index in range(count):
                kind, body, with_fix = _MIX[index % len(_MIX)]
                fix = _fix(clock, index) if with_fix else None
                done.append(ledger.write(kind, body, fix, None if fix is None else fix.gps_time))
            committed_s = clock.monotonic() - start
        finally:
            store.stop()
        start = clock.monotonic()
        for item in done:
            sign_record(item.record, identity.private_key)
        sign_s = clock.monotonic() - start
    cose = sum(len(d.cose) for d in done) / count
    as_json = sum(_json_size(d) for d in done) / count
    payload = sum(len(encode_payload(d.record)) for d in done) / count
    return {
        "count": count,
        "seconds": round(committed_s, 3),
        "records_per_s": round(count / committed_s, 1),
        "sign_only_per_s": round(count / sign_s, 1),
        "cose_bytes_per_record": round(cose, 1),
        "payload_bytes_per_record": round(payload, 1),
        "json_bytes_per_record": round(as_json, 1),
        "json_to_cose_ratio": round(as_json / cose, 2),
        "mix": "8 location : 1 checkin : 1 event",
        "directory": str(directory.resolve()),
    }
