"""Helpers for the casework tests: a unit's signed chain of check-ins, events and fixes."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from fieldcheck_protocol.clock import ManualClock
from fieldcheck_protocol.record import ZERO_HASH, FixSummary, Kind, Record
from fieldcheck_protocol.signature import record_hash
from tests.fieldcheck_server.serverkit import post
from tests.firmware.sync.devicesim import SimDevice


def fix_at(lat: float, lon: float, when: datetime) -> FixSummary:
    """A 3D fix at a place."""
    return FixSummary(lat=lat, lon=lon, alt_m=30.0, mode="3d", hdop=0.9, sats_used=9,
                      gps_time=when, age_s=0.5)


@dataclass
class Chain:
    """Records of one simulated unit, signed with its key, in sequence."""

    sim: SimDevice
    cose: list[bytes] = field(default_factory=list)

    def add(self, kind: Kind, when: datetime, body: dict[str, Any],
            at: tuple[float, float] | None = None) -> int:
        """Append one signed record; returns its seq."""
        seq = len(self.cose)
        prev = record_hash(self.cose[-1]) if self.cose else ZERO_HASH
        fix = fix_at(at[0], at[1], when) if at else None
        record = Record(kind=kind, device_id=self.sim.device_id, seq=seq, prev_hash=prev,
                        device_time=when, gps_time=when if fix else None, fix=fix,
                        firmware_version="test", model_version="none", body=body)
        self.cose.append(self.sim.sign(record))
        return seq

    def event(self, when: datetime, kind: str, **details: Any) -> int:
        """Append an event record."""
        return self.add(Kind.EVENT, when, {"type": kind, "details": details})

    def checkin(self, when: datetime, verdict: str, **body: Any) -> int:
        """Append a check-in record."""
        return self.add(Kind.CHECKIN, when, {"verdict": verdict, "trigger": "scheduled", **body})

    def upload(self, client: TestClient, clock: ManualClock, start: int = 0) -> None:
        """POST the records from ``start`` the way the unit does; all must be stored."""
        answer = post(client, self.sim, self.cose[start:], clock)
        assert answer.status_code == 200, answer.text
