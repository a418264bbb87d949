"""Fuzz harness for the server's record verifier: mutated COSE records and batches through ingest.

Every input goes through what the server runs on an upload body before it takes the write lock:
``parse_batch`` (one CBOR array of byte strings, nothing after it) and ``verify_items`` (each
record's COSE_Sign1 signature with the device key, canonical encoding, schema). An *escape* is
anything hostile input must never cause: an exception other than the server's own refusal, or a
mutated record that verifies (a forgery, or a second encoding of a signed record).
Run: ``python -m host_tools.bench.record_fuzz --inputs 200000`` (prints one JSON line, exit 1 on
any escape).
"""

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.record import ZERO_HASH, FixSummary, Kind, Record
from fieldcheck_protocol.signature import (
    device_id_for,
    public_key_bytes,
    record_hash,
    sign_record,
)
from fieldcheck_server.domain.ingest import Limits, parse_batch, verify_items
from fieldcheck_server.errors import Refused

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HOSTILE_VALUES: tuple[Any, ...] = (
    float("nan"), float("inf"), -1, 2**64, -(2**63) - 1, "", "x" * 300, b"\x00" * 33, None,
    True, [], {}, 1.5, cbor2.CBORTag(1, 0), cbor2.undefined,
)


def signed_chain(key: Ed25519PrivateKey, count: int) -> list[bytes]:
    """``count`` valid, chained records of every kind, as a unit would send them."""
    device = device_id_for(public_key_bytes(key))
    bodies: tuple[tuple[Kind, dict[str, Any]], ...] = (
        (Kind.LOCATION, {"interval": 60}),
        (Kind.EVENT, {"type": "fix_lost", "details": {"last_sats": 3}}),
        (Kind.CHECKIN, {"verdict": "match", "score": 0.8, "guidance": "ok",
                        "trigger": "button"}),
    )
    prev, out = ZERO_HASH, []
    for seq in range(count):
        kind, body = bodies[seq % len(bodies)]
        when = START + timedelta(seconds=seq)
        fix = FixSummary(lat=47.37, lon=8.54, alt_m=410.0, mode="3d", hdop=0.9, sats_used=9,
                         gps_time=when, age_s=0.2) if seq % 2 else None
        record = Record(kind=kind, device_id=device, seq=seq, prev_hash=prev, device_time=when,
                        gps_time=when if fix else None, fix=fix, firmware_version="fuzz",
                        model_version="none", body=body)
        cose = sign_record(record, key)
        out.append(cose)
        prev = record_hash(cose)
    return out


def _bytes_mutation(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        pos = rng.randrange(len(out) + 1)
        if kind == 0 and out:
            out[pos % len(out)] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[pos % len(out)] = rng.randrange(256)
        elif kind == 2:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 3:
            del out[pos:pos + rng.randint(1, 8)]
        elif kind == 4:
            del out[pos:]
        else:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    return bytes(out)


def _structure_mutation(cose: bytes, rng: random.Random) -> bytes:
    """Decode, change one part of the COSE structure or its payload, encode (unsigned again)."""
    tag = cbor2.loads(cose)
    protected, unprotected, payload, signature = tag.value
    fields = cbor2.loads(payload)
    choice = rng.randrange(7)
    if choice == 0:
        fields[rng.choice(sorted(fields))] = rng.choice(HOSTILE_VALUES)
    elif choice == 1:
        fields.pop(rng.choice(sorted(fields)))
    elif choice == 2:
        fields[rng.choice(("x", "seq", "zz", 7))] = rng.choice(HOSTILE_VALUES)
    elif choice == 3:
        protected = cbor2.dumps({1: rng.choice((-7, -8, 0, -257))})
    elif choice == 4:
        unprotected = {4: rng.choice((b"", b"fc-victim", "fc-x"))}
    elif choice == 5:
        signature = _bytes_mutation(signature, rng)
    else:
        return cbor2.dumps(cbor2.CBORTag(rng.choice((18, 98, 17)), [protected, unprotected,
                                                                   payload, signature]))
    payload = cbor2.dumps(fields, canonical=rng.random() < 0.5)
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))


def _resigned_by_another(cose: bytes, attacker: Ed25519PrivateKey) -> bytes:
    """The same record signed by a key that is not the device's: a forgery (RFC 9052 Sig_structure
    built here, since ``sign_record`` itself refuses a key that is not the record's device's)."""
    protected, unprotected, payload, _ = cbor2.loads(cose).value
    signature = attacker.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))


class Harness:
    """The ingest checks under test, and what escaped them."""

    def __init__(self, public_key: bytes, originals: list[bytes]) -> None:
        self.public_key = public_key
        self.originals = frozenset(originals)
        self.limits = Limits()
        self.inputs = 0
        self.outcomes: Counter[str] = Counter()
        self.escapes: Counter[str] = Counter()
        self.examples: list[str] = []

    def body(self, body: bytes) -> None:
        """One upload body through parse and verify."""
        self.inputs += 1
        try:
            items = parse_batch(body, self.limits, "fc-fuzz")
            checked = verify_items(items, self.public_key)
        except Refused as refused:
            self.outcomes[f"refused:{refused.code}"] += 1
            return
        except Exception as err:  # noqa: BLE001 - counting escapes is the point of the harness
            self._escaped(type(err).__name__, body)
            return
        for item in checked:
            if item.record is not None and item.cose not in self.originals:
                self._escaped("mutated_record_verified", item.cose)
            else:
                self.outcomes["accepted" if item.record is not None else
                              f"rejected:{item.rejected.code if item.rejected else '?'}"] += 1

    def _escaped(self, what: str, data: bytes) -> None:
        self.escapes[what] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{what}: {data[:80].hex()}")


def run(inputs: int, seed: int) -> dict[str, Any]:
    """Fuzz ``inputs`` upload bodies; returns the figures."""
    rng = random.Random(seed)
    key, attacker = (Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)) for _ in range(2))
    originals = signed_chain(key, 24)
    harness = Harness(public_key_bytes(key), originals)
    makers: tuple[Callable[[bytes], bytes], ...] = (
        lambda c: _bytes_mutation(c, rng),
        lambda c: _structure_mutation(c, rng),
        lambda c: _resigned_by_another(c, attacker),
    )
    started = time.perf_counter()
    while harness.inputs < inputs:
        batch = [rng.choice(originals) for _ in range(rng.randint(1, 4))]
        mutated = [rng.choice(makers)(c) if rng.random() < 0.8 else c for c in batch]
        body = cbor2.dumps(mutated)
        harness.body(_bytes_mutation(body, rng) if rng.random() < 0.3 else body)
    elapsed = time.perf_counter() - started
    return {
        "inputs": harness.inputs, "seconds": round(elapsed, 2),
        "inputs_per_s": round(harness.inputs / elapsed, 1),
        "escapes": sum(harness.escapes.values()), "escapes_by_kind": dict(harness.escapes),
        "outcomes": dict(harness.outcomes.most_common(12)), "examples": harness.examples,
        "seed": seed,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: one JSON line; exit 1 when anything escaped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=200_000, help="upload bodies to try")
    parser.add_argument("--seed", type=int, default=1, help="random seed (repeatable runs)")
    args = parser.parse_args(argv)
    if args.inputs <= 0:
        parser.error("--inputs must be positive")
    result = run(args.inputs, args.seed)
    print(json.dumps(result))
    return 1 if result["escapes"] else 0


if __name__ == "__main__":
    sys.exit(main())
