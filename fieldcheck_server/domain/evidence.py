"""Evidence of refused input: kept in full from proven devices, only counted from anyone else.

A caller that proved it holds a device key (its request signature verified) gets its refused
records and batches quarantined with their bytes and an alert, once per distinct piece. Anyone
else (no headers, unknown device, bad or replayed signature, stale time, a revoked unit) adds a
count and a digest to one row per source address and code, and at most one alert per source and
code per ``ALERT_INTERVAL_MS``. Such alerts name no device: a stranger cannot bury a real unit's
alerts by claiming its id.
"""

import hashlib
import logging

from fieldcheck_protocol.wire import ErrorCode
from fieldcheck_server.db.tx import Tx

logger = logging.getLogger(__name__)

ALERT_INTERVAL_MS = 3600 * 1000


def keep_evidence(
    tx: Tx,
    device_id: str | None,
    seq: int | None,
    code: ErrorCode,
    message: str,
    raw: bytes,
    raw_size: int,
    now: int,
    source: str,
) -> None:
    """Quarantine refused bytes of a proven device and raise an alert, once per distinct piece."""
    qid = tx.quarantine(
        device_id=device_id,
        seq=seq,
        code=code.value,
        message=message,
        raw=raw,
        raw_size=raw_size,
        digest=hashlib.sha256(raw).digest(),
        received_at=now,
        source=source,
    )
    if qid is not None:
        tx.alert(now, device_id, code.value, message, qid)
        logger.warning("refused %s from %s (seq %s): %s", code, device_id or source, seq, message)


def count_refusal(
    tx: Tx,
    source: str,
    code: ErrorCode,
    message: str,
    claimed: str | None,
    body: bytes,
    size: int,
    now: int,
) -> None:
    """Count an unauthenticated refusal: a digest and a size, never the body; rate-limited alert."""
    counted = tx.count_refusal(
        source, code.value, claimed, hashlib.sha256(body).digest(), size, now
    )
    if counted.alerted_at is not None and now - counted.alerted_at < ALERT_INTERVAL_MS:
        return
    tx.mark_alerted(source, code.value, now)
    claim = f" (claiming device {claimed})" if claimed else ""
    text = f"{counted.count} refused request(s) from {source}{claim}, latest: {message}"
    tx.alert(now, None, code.value, text, None)
    logger.warning("refused %s from %s%s: %s", code, source, claim, message)
