"""Our COSE_Sign1 bytes against an independent implementation (pycose), both directions."""

from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from fieldcheck_protocol.record import Code, Kind, RecordError, encode_payload
from fieldcheck_protocol.signature import public_key_bytes, sign_record, verify_record
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_record

pycose_messages = pytest.importorskip("pycose.messages")
pycose_keys = pytest.importorskip("pycose.keys")
pycose_headers = pytest.importorskip("pycose.headers")
pycose_algorithms = pytest.importorskip("pycose.algorithms")

KEY = fixed_key(11)
PUB = public_key_bytes(KEY)


def _pycose_decode(cose: bytes) -> Any:
    # pycose 1.1's Sign1Message.decode expects cbor2 5's mutable list/dict inside the tag; cbor2 6
    # returns tuple/frozendict there. Hand it plain containers; header parsing, Sig_structure
    # and EdDSA verification remain pycose's own.
    message = cbor2.loads(cose)
    assert message.tag == 18
    parts = [dict(p) if isinstance(p, dict | cbor2.frozendict) else p for p in message.value]
    return pycose_messages.Sign1Message.from_cose_obj(parts, False)


def _pycose_key(private: bool) -> Any:
    if not private:
        return pycose_keys.OKPKey(crv="ED25519", x=PUB)
    raw = KEY.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return pycose_keys.OKPKey(crv="ED25519", d=raw, x=PUB)


@pytest.mark.parametrize("kind", list(Kind))
def test_pycose_verifies_our_records(kind: Kind) -> None:
    record = sample_record(KEY, kind, seq=1, prev=b"\x05" * 32)
    message = _pycose_decode(sign_record(record, KEY))
    message.key = _pycose_key(private=False)
    assert message.verify_signature()
    assert message.payload == encode_payload(record)
    assert message.phdr == {pycose_headers.Algorithm: pycose_algorithms.EdDSA}


def test_pycose_refuses_our_record_with_a_changed_payload() -> None:
    cose = sign_record(sample_record(KEY, seq=1, prev=b"\x05" * 32), KEY)
    other = cbor2.loads(sign_record(sample_record(KEY, seq=2, prev=b"\x05" * 32), KEY)).value[2]
    message = _pycose_decode(cose)
    message.payload = other
    message.key = _pycose_key(private=False)
    assert not message.verify_signature()


def _pycose_sign(payload: bytes) -> bytes:
    record = sample_record(KEY)
    message = pycose_messages.Sign1Message(
        phdr={pycose_headers.Algorithm: pycose_algorithms.EdDSA},
        uhdr={pycose_headers.KID: record.device_id.encode()},
        payload=payload,
    )
    message.key = _pycose_key(private=True)
    encoded: bytes = message.encode()
    return encoded


def test_we_verify_pycose_signed_records() -> None:
    record = sample_record(KEY, Kind.LOCATION, seq=9, prev=b"\x07" * 32)
    cose = _pycose_sign(encode_payload(record))
    assert verify_record(cose, PUB) == record
    assert cose == sign_record(record, KEY)  # same bytes from both implementations


def test_pycose_signature_over_other_bytes_is_refused() -> None:
    good = _pycose_sign(encode_payload(sample_record(KEY, seq=9, prev=b"\x07" * 32)))
    parts = list(cbor2.loads(good).value)
    parts[2] = encode_payload(sample_record(KEY, seq=10, prev=b"\x07" * 32))
    with pytest.raises(RecordError) as caught:
        verify_record(cbor2.dumps(cbor2.CBORTag(18, parts), canonical=True), PUB)
    assert caught.value.code == Code.BAD_SIGNATURE
