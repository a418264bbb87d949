"""The record-verifier fuzz harness: nothing escapes the real checks, and it would see if it did."""

import pytest

from fieldcheck_protocol.record import RecordError
from fieldcheck_protocol.signature import unverified_record
from fieldcheck_server.domain import ingest
from host_tools.bench import record_fuzz


def test_nothing_escapes_the_servers_parse_and_verify() -> None:
    result = record_fuzz.run(3000, seed=5)
    assert result["inputs"] == 3000
    assert result["escapes"] == 0, result["examples"]
    outcomes = result["outcomes"]
    assert outcomes["accepted"] > 0, "unchanged records must still verify"
    assert outcomes["rejected:bad_signature"] > 0 and outcomes["refused:malformed_batch"] > 0


def test_a_verifier_that_skips_the_signature_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def trusting(items: list[bytes], public_key: bytes) -> list[ingest.Checked]:
        checked = []
        for cose in items:
            try:
                checked.append(ingest.Checked(cose, unverified_record(cose), None))
            except RecordError:
                checked.append(ingest.Checked(cose, None, None))
        return checked

    monkeypatch.setattr(record_fuzz, "verify_items", trusting)
    result = record_fuzz.run(500, seed=5)
    assert result["escapes_by_kind"].get("mutated_record_verified", 0) > 0
