"""What `records list` shows of a record: what happened, the verdict, the place; and its filters."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fieldcheck_protocol.record import Kind, Record
from fieldcheck_server.domain.export import Row
from fieldcheck_server.errors import RegistryError

#: Decimal places of a listed place: 3 is about 100 m, enough to tell places apart on a list
#: without printing the precise position (the export has that).
PLACE_DECIMALS = 3


@dataclass(frozen=True)
class RecordQuery:
    """Which rows to list: one kind, a device-time range (``since`` inclusive, ``until``
    exclusive) and at most ``limit`` rows; ``None`` means no bound."""

    kind: Kind | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise RegistryError(f"--since {self.since.isoformat()} is not before --until "
                                f"{self.until.isoformat()}: give an earlier --since")

    @property
    def filtered(self) -> bool:
        """Whether a kind or time bound is set (rows without a readable record then drop out)."""
        return self.kind is not None or self.since is not None or self.until is not None

    def matches(self, row: Row) -> bool:
        """Whether ``row`` passes the kind and time bounds."""
        record = row.record
        if record is None:
            return not self.filtered
        if self.kind is not None and record.kind is not self.kind:
            return False
        if self.since is not None and record.device_time < self.since:
            return False
        return self.until is None or record.device_time < self.until

    def select(self, rows: Iterable[Row]) -> Iterator[Row]:
        """The matching rows in their order, at most ``limit`` of them."""
        count = 0
        for row in rows:
            if self.limit is not None and count >= self.limit:
                return
            if self.matches(row):
                count += 1
                yield row


def parse_time(text: str, flag: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise RegistryError(
            f"{flag} {text!r} is not a date or time: write it as 2026-03-01 or "
            "2026-03-01T14:30 (UTC unless it ends in +HH:MM)") from err
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def what(record: Record) -> str:
    """The event type, the check-in verdict (and trigger, score), or ``location``."""
    body = record.body
    if record.kind is Kind.EVENT:
        return f"event {body.get('type', '?')}"
    if record.kind is Kind.CHECKIN:
        score = body.get("score")
        parts = [f"checkin {body.get('verdict', '?')}",
                 f"({body['trigger']})" if body.get("trigger") else "",
                 "" if score is None else f"score {score:.2f}"]
        return " ".join(p for p in parts if p)
    return record.kind.value


def place(record: Record) -> str:
    """The fix rounded to about 100 m, or ``no fix``."""
    fix = record.fix
    if fix is None:
        return "no fix"
    return f"{fix.lat:.{PLACE_DECIMALS}f},{fix.lon:.{PLACE_DECIMALS}f}"


def line(row: Row) -> str:
    """One line of `records list`: seq, status, device time, what, place, reason."""
    seq = "-" if row.seq is None else str(row.seq)
    if row.record is None:
        return f"{seq:>8}  {row.status:11}  {'-':25}  {'-':28}  {'-':15}  {row.reason}".rstrip()
    record = row.record
    when = record.device_time.isoformat(timespec="seconds")
    return (f"{seq:>8}  {row.status:11}  {when:25}  {what(record):28}  {place(record):15}  "
            f"{row.reason}").rstrip()
