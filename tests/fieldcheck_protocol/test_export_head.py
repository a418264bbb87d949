"""The export's signed head statement: a file cut off at the end no longer checks out."""

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.export import (
    Export,
    ExportError,
    HeadStatement,
    decode_export,
    encode_export,
    server_public_key,
    sign_head,
    verify_export,
    verify_head,
)
from fieldcheck_protocol.record import ZERO_HASH, Kind
from fieldcheck_protocol.signature import device_id_for, public_key_bytes, record_hash, sign_record
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_record

SERVER = Ed25519PrivateKey.from_private_bytes(bytes([5]) * 32)


class Unit:
    """One device key and its chain."""

    def __init__(self, seed: int) -> None:
        self.key = fixed_key(seed)
        self.public_key = public_key_bytes(self.key)
        self.device_id = device_id_for(self.public_key)

    def extend(self, count: int) -> list[bytes]:
        prev, out = ZERO_HASH, []
        for seq in range(count):
            cose = sign_record(sample_record(self.key, Kind.EVENT, seq=seq, prev=prev), self.key)
            prev = record_hash(cose)
            out.append(cose)
        return out


def _export(records: list[bytes], head_of: list[bytes], sim: Unit) -> Export:
    last = head_of[-1] if head_of else None
    statement = HeadStatement(
        sim.device_id,
        len(head_of) - 1 if head_of else None,
        record_hash(last) if last is not None else None,
        1_700_000_000_000,
    )
    return Export(
        sim.device_id,
        sim.public_key,
        tuple(records),
        sign_head(statement, SERVER),
        server_public_key(SERVER),
    )


def test_a_whole_export_round_trips_with_its_head() -> None:
    sim = Unit(41)
    chain = sim.extend(4)
    decoded = decode_export(encode_export(_export(chain, chain, sim)))
    assert len(verify_export(decoded)) == 4
    statement = verify_head(decoded, server_public_key(SERVER))
    assert (statement.seq, statement.record_hash) == (3, record_hash(chain[-1]))


def test_an_empty_export_states_an_empty_head() -> None:
    sim = Unit(42)
    assert verify_head(decode_export(encode_export(_export([], [], sim)))).seq is None


def test_a_tail_cut_off_is_detected() -> None:
    sim = Unit(43)
    chain = sim.extend(5)
    cut = decode_export(encode_export(_export(chain[:3], chain, sim)))
    assert len(verify_export(cut)) == 3  # the chain alone cannot tell
    with pytest.raises(ExportError, match="cut off the end"):
        verify_head(cut)


def test_a_head_signed_by_another_key_or_changed_is_refused() -> None:
    sim = Unit(44)
    chain = sim.extend(2)
    export = _export(chain, chain, sim)
    with pytest.raises(ExportError, match="published one"):
        verify_head(export, server_public_key(Ed25519PrivateKey.generate()))
    other = Ed25519PrivateKey.generate()
    swapped = dataclasses.replace(export, server_key=server_public_key(other))
    with pytest.raises(ExportError, match="does not verify"):
        verify_head(swapped)
    with pytest.raises(ExportError, match="no signed head"):
        verify_head(dataclasses.replace(export, head=None))
