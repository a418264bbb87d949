"""COSE_Sign1 records: signing, verification, and every kind of tampering refused by code."""

import cbor2
import pytest

from fieldcheck_protocol import signature
from fieldcheck_protocol.record import ZERO_HASH, Code, Kind, RecordError, encode_payload
from fieldcheck_protocol.signature import (
    PROTECTED,
    device_id_for,
    peek,
    public_key_bytes,
    record_hash,
    sign_record,
    unverified_record,
    verify_record,
)
from tests.fieldcheck_protocol.records_factory import fixed_key, sample_record

KEY = fixed_key(7)
PUB = public_key_bytes(KEY)
OTHER = fixed_key(8)


def _cose(seq: int = 0, kind: Kind = Kind.CHECKIN) -> bytes:
    prev = ZERO_HASH if seq == 0 else b"\x02" * 32
    return sign_record(sample_record(KEY, kind, seq=seq, prev=prev), KEY)


def _rebuild(protected: object = PROTECTED, unprotected: object = None, payload: object = None,
             signature: object = None, tag: int = 18) -> bytes:
    parts = list(cbor2.loads(_cose()).value)
    replaced = [protected, unprotected, payload, signature]
    merged = [new if new is not None else old for new, old in zip(replaced, parts, strict=True)]
    return cbor2.dumps(cbor2.CBORTag(tag, merged), canonical=True)


def _code(cose: bytes, key: bytes = PUB) -> str:
    with pytest.raises(RecordError) as caught:
        verify_record(cose, key)
    return caught.value.code


def test_device_id_is_derived_from_the_public_key() -> None:
    device_id = device_id_for(PUB)
    assert device_id.startswith("fc-") and len(device_id) == 19
    assert device_id == device_id.lower() and "=" not in device_id
    assert device_id != device_id_for(public_key_bytes(OTHER))
    with pytest.raises(ValueError):
        device_id_for(PUB[:31])


def test_signed_record_verifies_and_has_the_fixed_layout() -> None:
    record = sample_record(KEY, Kind.EVENT, seq=4, prev=b"\x09" * 32)
    cose = sign_record(record, KEY)
    assert verify_record(cose, PUB) == record
    message = cbor2.loads(cose)
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert protected == bytes.fromhex("a10127")
    assert dict(unprotected) == {4: record.device_id.encode()}
    assert payload == encode_payload(record)
    assert len(signature) == 64
    assert sign_record(record, KEY) == cose  # Ed25519 is deterministic: same record, same bytes


def test_hash_peek_and_unverified_read() -> None:
    cose = _cose(seq=3)
    assert len(record_hash(cose)) == 32 and record_hash(cose) != record_hash(_cose(seq=4))
    assert peek(cose) == (device_id_for(PUB), 3)
    assert unverified_record(cose).seq == 3


def test_signing_with_a_key_of_another_device_is_refused() -> None:
    with pytest.raises(RecordError) as caught:
        sign_record(sample_record(KEY), OTHER)
    assert caught.value.code == Code.WRONG_DEVICE


def test_every_single_byte_tamper_is_refused() -> None:
    cose = _cose(seq=1)
    for index in range(len(cose)):
        tampered = bytearray(cose)
        tampered[index] ^= 0x01
        with pytest.raises(RecordError):
            verify_record(bytes(tampered), PUB)


def test_swapped_payload_fails_the_signature() -> None:
    other_payload = cbor2.loads(_cose(seq=2)).value[2]
    assert _code(_rebuild(payload=other_payload)) == Code.BAD_SIGNATURE


def test_wrong_key_is_refused() -> None:
    assert _code(_cose(), public_key_bytes(OTHER)) == Code.WRONG_DEVICE
    # Even with the kid rewritten to the other device, the signature does not verify.
    forged = _rebuild(unprotected={4: device_id_for(public_key_bytes(OTHER)).encode()})
    assert _code(forged, public_key_bytes(OTHER)) == Code.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("cose", "code"),
    [
        (cbor2.dumps(list(cbor2.loads(_cose()).value)), Code.NOT_SIGN1),  # untagged
        (_rebuild(tag=17), Code.NOT_SIGN1),  # COSE_Mac0 tag
        (_rebuild(protected=cbor2.dumps({1: -7})), Code.BAD_HEADER),  # ES256
        (_rebuild(protected=cbor2.dumps({1: -8, 3: 0})), Code.BAD_HEADER),  # extra protected
        (_rebuild(protected=b""), Code.BAD_HEADER),
        (_rebuild(unprotected={4: b"fc-x", 1: -8}), Code.BAD_HEADER),  # extra unprotected
        (_rebuild(unprotected={}), Code.BAD_HEADER),
        (_rebuild(unprotected={4: "text-kid"}), Code.BAD_HEADER),
        (_rebuild(signature=b"\x00" * 63), Code.BAD_SIGNATURE),
        (_rebuild(signature=b"\x00" * 64), Code.BAD_SIGNATURE),
        (b"\xd2\x83\x01\x02\x03", Code.MALFORMED),
        (b"\x1f", Code.MALFORMED),
        (_cose() + b"\x00", Code.NON_CANONICAL),
    ],
)
def test_bad_messages_are_refused_with_stable_codes(cose: bytes, code: Code) -> None:
    assert _code(cose) == code


def test_detached_payload_is_malformed() -> None:
    parts = list(cbor2.loads(_cose()).value)
    parts[2] = None
    assert _code(cbor2.dumps(cbor2.CBORTag(18, parts), canonical=True)) == Code.MALFORMED


def test_widened_length_headers_in_the_message_are_non_canonical() -> None:
    """The message check builds the expected bytes directly: a byte string whose length is
    written longer than needed (kid, payload or signature) must still be refused."""
    cose = _cose()
    kid = device_id_for(PUB).encode()
    short_kid = bytes((0x40 | len(kid),)) + kid
    assert short_kid in cose
    assert _code(cose.replace(short_kid, b"\x58" + bytes((len(kid),)) + kid)) == Code.NON_CANONICAL
    signature = cose[-64:]
    assert cose[-66:-64] == b"\x58\x40"
    widened = cose[:-66] + b"\x59\x00\x40" + signature
    assert _code(widened) == Code.NON_CANONICAL
    parts = list(cbor2.loads(cose).value)
    payload = parts[2]
    size = len(payload)
    head = b"\x58" + bytes((size,)) if size < 256 else b"\x59" + size.to_bytes(2, "big")
    assert head in cose
    wider = cose.replace(head + payload, b"\x5a" + len(payload).to_bytes(4, "big") + payload)
    assert wider != cose
    assert _code(wider) == Code.NON_CANONICAL


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_direct_encodings_are_cbor2_deterministic_bytes(size: int) -> None:
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    assert signature._sig_structure(payload) == cbor2.dumps(
        ["Signature1", signature.PROTECTED, b"", payload], canonical=True
    )
    for kid in (b"", b"fc-abcdefghijklm", bytes(40)):
        assert signature._envelope(kid, payload, bytes(64)) == cbor2.dumps(
            cbor2.CBORTag(18, [signature.PROTECTED, {4: kid}, payload, bytes(64)]), canonical=True
        )


def _parts_or_refusal(parse: object, cose: bytes) -> tuple[object, ...]:
    try:
        return ("parts", parse(cose))  # type: ignore[operator]
    except RecordError as err:
        return ("refused", err.code, err.message)


@pytest.mark.parametrize("kid_size", [0, 16, 23, 24, 255, 256])
@pytest.mark.parametrize("payload_size", [0, 23, 24, 255, 256, 65535, 65536])
def test_the_sliced_message_is_the_decoded_one(kid_size: int, payload_size: int) -> None:
    kid, payload = b"k" * kid_size, bytes(range(256)) * (payload_size // 256) + b"p" * (
        payload_size % 256)
    cose = signature._envelope(kid, payload, bytes(range(64)))
    assert signature._decoded(cose) == (kid, payload, bytes(range(64)))
    sliced = signature._sliced(cose)
    assert sliced is None if payload_size >= 65536 else sliced == signature._decoded(cose)
    assert signature._parse(cose) == signature._decoded(cose)


def test_every_changed_message_gets_the_decoded_outcome() -> None:
    """Each byte of a message changed to each of a few values, cut short and extended: the
    sliced parse takes only what the decoding parse takes (the same parts), and ``_parse``
    refuses the rest with the decoding parse's code and message."""
    cose = _cose()
    variants = [cose[:size] for size in range(len(cose))] + [cose + b"\x00", cose + cose]
    for index in range(len(cose)):
        for value in {0x00, 0x18, 0x40, 0x57, 0x58, 0x59, 0x5A, 0xFF, cose[index] ^ 1}:
            variants.append(cose[:index] + bytes((value,)) + cose[index + 1 :])
    for variant in variants:
        decoded = _parts_or_refusal(signature._decoded, variant)
        sliced = signature._sliced(variant)
        if sliced is not None:
            assert decoded == ("parts", sliced)
        assert _parts_or_refusal(signature._parse, variant) == decoded
