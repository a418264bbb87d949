"""Review images on the server: sealed frames of failed check-ins, opened only for a reviewer.

A unit seals the frames of a failed check-in to the review desk's X25519 key
(``fieldcheck_protocol.review_box``); a technician brings the files over and imports them here,
still sealed. Opening one needs the desk's private key (the server holds it only when given
``--review-key-file``), a reviewer's role and the item on their caseload, and writes an audit
entry every time. Frames expire ``retention`` after capture; the expiry itself is audited.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from fieldcheck_protocol import review_box
from fieldcheck_protocol.record import to_ms
from fieldcheck_server.db.casework import CaseTx
from fieldcheck_server.db.engine import Database
from fieldcheck_server.domain import audit, review
from fieldcheck_server.domain.roles import Principal
from fieldcheck_server.errors import CaseConflict, CaseNotFound, CaseworkError, Forbidden

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=30)
OPENERS = frozenset({"admin", "officer"})
MAX_SEALED_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Imported:
    """What an import did with one sealed file."""

    device_id: str
    seq: int
    frame: int
    new: bool


def import_sealed(db: Database, who: Principal, data: bytes, now_ms: int,
                  retention: timedelta = DEFAULT_RETENTION) -> Imported:
    """Keep one sealed frame (still sealed) until ``retention`` after its capture; audited."""
    if len(data) > MAX_SEALED_BYTES:
        raise CaseworkError(f"a sealed review image is at most {MAX_SEALED_BYTES} bytes")
    try:
        header = review_box.read_header(data)
    except review_box.ReviewBoxError as err:
        raise CaseworkError(f"not a review image: {err}") from None
    expires = to_ms(header.captured + retention)
    if expires <= now_ms:
        raise CaseConflict(f"frame {header.frame} of record {header.seq} is past its retention; "
                           "not kept")
    with db.write() as tx:
        if tx.device(header.device_id) is None:
            raise CaseNotFound(f"no unit {header.device_id}: see `fieldcheck device list`")
        new = CaseTx(tx).insert_image({
            "device_id": header.device_id, "seq": header.seq, "frame": header.frame,
            "sealed": data, "captured_at": to_ms(header.captured), "imported_at": now_ms,
            "expires_at": expires})
        if new:
            audit.record(tx, who, "review.image.import", f"{header.device_id}:{header.seq}",
                         now_ms, {"frame": header.frame, "expires_at": expires})
    return Imported(header.device_id, header.seq, header.frame, new)


def frames(db: Database, who: Principal, review_id: int, now_ms: int) -> list[int]:
    """The unexpired frames kept for a review item's record (none for items of no record)."""
    item = review.item(db, who, review_id)
    if item.row.device_id is None or item.row.seq is None:
        return []
    with db.read() as tx:
        return CaseTx(tx).image_frames(item.row.device_id, item.row.seq, now_ms)


def open_frame(db: Database, who: Principal, review_id: int, frame: int,
               private_key: bytes | None, now_ms: int) -> bytes:
    """The JPEG of one frame, for a reviewer who may see the item; the opening is audited."""
    if str(who.role) not in OPENERS:
        raise Forbidden(f"the {who.role} role cannot open review images")
    item = review.item(db, who, review_id)
    if private_key is None:
        raise CaseConflict("this server holds no review desk key: start it with "
                           "--review-key-file to open review images")
    device_id, seq = item.row.device_id, item.row.seq
    with db.read() as tx:
        sealed = (CaseTx(tx).image(device_id, seq, frame, now_ms)
                  if device_id is not None and seq is not None else None)
    if sealed is None:
        raise CaseNotFound(f"review item {review_id} has no frame {frame} (none kept, or expired)")
    try:
        _header, jpeg = review_box.open_box(sealed, private_key)
    except review_box.ReviewBoxError as err:
        raise CaseConflict(f"the frame cannot be opened: {err}") from None
    audit.append(db, who, "review.image.open", f"{device_id}:{seq}", now_ms,
                 {"review": review_id, "frame": frame})
    return jpeg


def expire(db: Database, who: Principal, now_ms: int) -> int:
    """Delete every frame past its retention; the expiry is audited (with the count)."""
    with db.write() as tx:
        removed = CaseTx(tx).delete_expired_images(now_ms)
        if removed:
            audit.record(tx, who, "review.image.expire", "review_images", now_ms,
                         {"deleted": removed})
    if removed:
        logger.info("deleted %d review image(s) past their retention", removed)
    return removed
