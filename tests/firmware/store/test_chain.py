"""The chain verifier on hand-built rows, and the thinning plan."""

import pytest

from fieldcheck_protocol.record import ZERO_HASH, Kind
from fieldcheck_protocol.signature import public_key_bytes, record_hash, sign_record
from firmware.store.chain import ChainHead, ChainVerifier
from firmware.store.thinning import thin_plan
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_record

KEY = fixed_key(3)
PUB = public_key_bytes(KEY)


def _chain(count: int) -> list[tuple[int, bytes, bytes]]:
    rows, prev = [], ZERO_HASH
    for seq in range(count):
        cose = sign_record(sample_record(KEY, Kind.LOCATION, seq=seq, prev=prev), KEY)
        prev = record_hash(cose)
        rows.append((seq, prev, cose))
    return rows


def _check(rows: list[tuple[int, bytes, bytes]], next_seq: int, last_hash: bytes,
           acked: int = -1) -> dict[str, tuple[int | None, int]]:
    device_id = sample_record(KEY).device_id
    verifier = ChainVerifier(ChainHead(next_seq, last_hash, acked), device_id, PUB)
    return {p.code: (p.first_seq, p.count) for p in verifier.verify(rows)}


ROWS = _chain(8)
HEAD = ROWS[-1][1]


def test_whole_chain_verifies() -> None:
    assert _check(ROWS, 8, HEAD) == {}
    assert _check([], 0, ZERO_HASH) == {}


def test_gaps_are_fine_only_where_acknowledged() -> None:
    assert _check(ROWS[3:5] + ROWS[6:], 8, HEAD, acked=5) == {}
    assert _check(ROWS[3:5] + ROWS[6:], 8, HEAD, acked=4) == {"records_missing": (5, 1)}
    assert _check(ROWS[:6], 8, HEAD, acked=-1) == {"records_missing": (6, 2)}
    assert _check([], 8, HEAD, acked=7) == {}


def test_swapped_or_foreign_rows_break_the_chain() -> None:
    swapped = [ROWS[0], (1, ROWS[2][1], ROWS[2][2]), (2, ROWS[1][1], ROWS[1][2])] + ROWS[3:]
    assert "chain_broken" in _check(swapped, 8, HEAD)
    other = fixed_key(4)
    forged = sign_record(sample_record(other, Kind.LOCATION, seq=2, prev=ROWS[1][1]), other)
    rows = ROWS[:2] + [(2, record_hash(forged), forged)] + ROWS[3:]
    assert _check(rows, 8, HEAD)["chain_broken"][0] == 2
    assert _check(ROWS, 8, b"\x01" * 32) == {"chain_broken": (8, 1)}


def test_thin_plan_keeps_every_nth() -> None:
    assert thin_plan([1, 2, 4, 5, 7, 8, 10], 3) == [2, 4, 7, 8]
    assert thin_plan([], 4) == []
    with pytest.raises(ValueError):
        thin_plan([1], 0)
