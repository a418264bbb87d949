"""Builders of sample records and device keys for the record, signature and store tests."""

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.record import ZERO_HASH, FixSummary, Kind, Record
from fieldcheck_protocol.signature import device_id_for, public_key_bytes

WHEN = datetime(2026, 11, 24, 12, 0, 0, 250000, tzinfo=UTC)


def fixed_key(seed: int = 7) -> Ed25519PrivateKey:
    """A deterministic device key (tests only; devices generate theirs)."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def sample_fix() -> FixSummary:
    """A 3D fix somewhere in a field."""
    return FixSummary(
        lat=52.520008, lon=13.404954, alt_m=34.5, mode="3d", hdop=0.9, sats_used=9,
        gps_time=WHEN, age_s=0.4,
    )


def sample_record(key: Ed25519PrivateKey, kind: Kind = Kind.CHECKIN, seq: int = 0,
                  prev: bytes = ZERO_HASH, **overrides: Any) -> Record:
    """A valid record of ``kind`` for ``key``'s device."""
    bodies: dict[Kind, dict[str, Any]] = {
        Kind.CHECKIN: {"verdict": "match", "score": 0.83, "liveness": 0.97, "quality": 0.75,
                       "guidance": "ok"},
        Kind.LOCATION: {"interval": 300},
        Kind.EVENT: {"type": "fix_lost", "details": {"last_sats": 3, "hdop": 4.5}},
    }
    values: dict[str, Any] = {
        "kind": kind, "device_id": device_id_for(public_key_bytes(key)), "seq": seq,
        "prev_hash": prev, "device_time": WHEN, "gps_time": WHEN, "fix": sample_fix(),
        "firmware_version": "0.1.0", "model_version": "facenet-int8-1", "body": bodies[kind],
    }
    values.update(overrides)
    return Record(**values)
