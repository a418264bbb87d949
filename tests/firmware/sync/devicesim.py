"""A simulated device for sync and server tests: real Ed25519 key, signed chain, memory store."""

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.record import ZERO_HASH, Record
from fieldcheck_protocol.signature import device_id_for, public_key_bytes, record_hash, sign_record
from fieldcheck_server.bench import location_record


class KeySigner:
    """The device key as the sync transport sees it (``RequestSigner``)."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.device_id = device_id_for(public_key_bytes(key))

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class SimDevice:
    """Builds a valid hash chain of signed records for one device key."""

    def __init__(self, seed: int = 11) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        self.public_key = public_key_bytes(self.key)
        self.device_id = device_id_for(self.public_key)
        self.signer = KeySigner(self.key)
        self.chain: list[bytes] = []

    def record(self, seq: int, prev: bytes, **overrides: Any) -> Record:
        """A location record with a fix (the bench's record shape)."""
        return location_record(self.device_id, seq, prev, **overrides)

    def sign(self, record: Record) -> bytes:
        return sign_record(record, self.key)

    def extend(self, count: int) -> list[bytes]:
        """Append ``count`` records to the chain; returns the new ones."""
        new = []
        for _ in range(count):
            seq = len(self.chain)
            prev = record_hash(self.chain[-1]) if self.chain else ZERO_HASH
            cose = self.sign(self.record(seq, prev))
            self.chain.append(cose)
            new.append(cose)
        return new


class MemoryStore:
    """A ``PendingStore`` over a chain: acknowledging never drops anything unacknowledged."""

    def __init__(self, chain: list[bytes]) -> None:
        self.records = list(chain)
        self.acked = -1
        self.acks: list[int] = []

    def pending(self, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        size = 0
        for seq in range(self.acked + 1, len(self.records)):
            cose = self.records[seq]
            if out and (len(out) >= limit or size + len(cose) > max_bytes):
                break
            out.append((seq, cose))
            size += len(cose)
        return out

    def acknowledge(self, seq: int) -> None:
        self.acks.append(seq)
        self.acked = max(self.acked, seq)
