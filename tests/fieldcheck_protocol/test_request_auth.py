"""The request-signing protocol: golden vectors for the message and the headers, nonce and
signature forms."""

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol import request_auth

NONCE = "00112233445566778899aabbccddeeff"
STAMP = 1795953600
# The key 00 01 02 .. 1f; Ed25519 is deterministic, so its signature is a fixed vector too.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
GOLDEN_MESSAGE = (
    b"fieldcheck-request-v1\nPOST\n/v1/records\n"
    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    b"1795953600\n00112233445566778899aabbccddeeff"
)
GOLDEN_SIGNATURE = (
    "JyB5OmkffdY0nkkcryJ4XZmh5n4WfqTPeqHFq8Qw7RJIvnMNbl-ONQM1i1eUCdqMvtl0P3Tz-HFio-MwNdLKAA"
)


def test_request_message_golden_vector() -> None:
    """The device and the server both sign and verify exactly these bytes."""
    message = request_auth.request_message("post", "/v1/records", b"", STAMP, NONCE)
    assert message == GOLDEN_MESSAGE


def test_signed_headers_golden_vector() -> None:
    headers = request_auth.signed_headers(
        "fc-test", KEY.sign, "POST", "/v1/records", b"", STAMP, NONCE
    )
    assert headers == {
        "X-Fieldcheck-Device": "fc-test",
        "X-Fieldcheck-Timestamp": "1795953600",
        "X-Fieldcheck-Nonce": NONCE,
        "X-Fieldcheck-Signature": GOLDEN_SIGNATURE,
    }
    assert tuple(headers) == request_auth.HEADERS
    raw = request_auth.decode_signature(headers["X-Fieldcheck-Signature"])
    KEY.public_key().verify(raw, GOLDEN_MESSAGE)  # raises if the vector were inconsistent


def test_every_signed_field_changes_the_message() -> None:
    base = ("POST", "/v1/records", b"[]", STAMP, NONCE)
    variants = [
        ("PUT", *base[1:]),
        (base[0], "/v1/record", *base[2:]),
        (*base[:2], b"[ ]", *base[3:]),
        (*base[:3], STAMP + 1, NONCE),
        (*base[:4], NONCE[::-1]),
    ]
    messages = [request_auth.request_message(*args) for args in [base, *variants]]
    assert all(a != b for a, b in itertools.combinations(messages, 2))


def test_new_nonce_takes_sixteen_bytes_from_the_given_source() -> None:
    taken: list[int] = []

    def source(count: int) -> bytes:
        taken.append(count)
        return bytes(range(count))

    nonce = request_auth.new_nonce(source)
    assert taken == [request_auth.NONCE_BYTES]
    assert nonce == bytes(range(16)).hex()
    assert request_auth.is_nonce(nonce)


def test_new_nonce_refuses_a_short_random_source() -> None:
    with pytest.raises(ValueError, match="needs 16"):
        request_auth.new_nonce(lambda count: bytes(count - 1))


@pytest.mark.parametrize(
    "text", ["", NONCE[:-1], NONCE + "0", NONCE.upper(), "g" * 32, NONCE[:-1] + "\n"]
)
def test_malformed_nonces_are_recognised(text: str) -> None:
    assert not request_auth.is_nonce(text)


def test_signature_encoding_round_trips_without_padding() -> None:
    raw = bytes(range(64))
    text = request_auth.encode_signature(raw)
    assert "=" not in text and len(text) == 86
    assert request_auth.decode_signature(text) == raw


@pytest.mark.parametrize("text", ["", "AAAA", GOLDEN_SIGNATURE + "AA", "!" * 86])
def test_malformed_signatures_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="signature"):
        request_auth.decode_signature(text)
