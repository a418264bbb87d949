"""Sealed review images: round trip with the desk's key, and refusal of tampering or other keys."""

import json
import random
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from fieldcheck_protocol import review_box
from fieldcheck_protocol.review_box import ReviewBoxError

CAPTURED = datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC)
DEVICE = "fc-device-one"
JPEG = b"\xff\xd8\xff\xe0 not really a jpeg, any bytes seal the same \xff\xd9"


def desk_key(seed: int) -> bytes:
    """A review desk private key (raw 32 bytes), reproducible per seed."""
    raw = random.Random(seed).randbytes(32)
    key = X25519PrivateKey.from_private_bytes(raw)
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def tokens(seed: int):  # noqa: ANN201 - a token_bytes stand-in
    rng = random.Random(seed)
    return rng.randbytes


@pytest.fixture
def desk() -> bytes:
    return desk_key(1)


def sealed(desk: bytes, seq: int = 41, frame: int = 2, seed: int = 9) -> bytes:
    return review_box.seal(JPEG, review_box.public_key_of(desk), DEVICE, seq, frame, CAPTURED,
                           token=tokens(seed))


def test_the_desk_opens_what_the_unit_sealed(desk) -> None:
    data = sealed(desk)
    header, jpeg = review_box.open_box(data, desk)
    assert jpeg == JPEG
    assert (header.device_id, header.seq, header.frame, header.captured) == (
        DEVICE, 41, 2, CAPTURED)
    assert header.review_key == review_box.key_id(review_box.public_key_of(desk))
    assert JPEG not in data and JPEG[:16] not in data  # the image is not in the clear
    assert review_box.read_header(data) == header


def test_each_image_has_its_own_ephemeral_key(desk) -> None:
    first, second = sealed(desk, seed=1), sealed(desk, seed=2)
    assert review_box.read_header(first).ephemeral != review_box.read_header(second).ephemeral
    assert first.split(b"\n", 2)[2] != second.split(b"\n", 2)[2]


def test_what_the_unit_holds_cannot_open_it(desk) -> None:
    # The unit holds only the desk's public key; used as a private key it opens nothing.
    public = review_box.public_key_of(desk)
    with pytest.raises(ReviewBoxError, match="not to this one"):
        review_box.open_box(sealed(desk), public)


def test_another_desk_key_is_refused(desk) -> None:
    with pytest.raises(ReviewBoxError, match="sealed to review key"):
        review_box.open_box(sealed(desk), desk_key(2))


@pytest.mark.parametrize("field", ["seq", "frame", "device_id", "captured"])
def test_an_edited_header_field_is_refused(desk, field) -> None:
    fmt, line, body = sealed(desk).split(b"\n", 2)
    fields = json.loads(line)
    fields[field] = {"seq": 42, "frame": 0, "device_id": "fc-other",
                     "captured": "2027-01-01T00:00:00+00:00"}[field]
    forged = fmt + b"\n" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(ReviewBoxError, match="altered"):
        review_box.open_box(forged + b"\n" + body, desk)


def test_reformatted_header_bytes_are_refused(desk) -> None:
    fmt, line, body = sealed(desk).split(b"\n", 2)
    spaced = json.dumps(json.loads(line), sort_keys=True).encode()  # same fields, other bytes
    with pytest.raises(ReviewBoxError, match="altered"):
        review_box.open_box(fmt + b"\n" + spaced + b"\n" + body, desk)


def test_a_flipped_ciphertext_bit_is_refused(desk) -> None:
    data = bytearray(sealed(desk))
    data[-20] ^= 0x01
    with pytest.raises(ReviewBoxError, match="altered"):
        review_box.open_box(bytes(data), desk)


def test_a_truncated_file_is_refused(desk) -> None:
    with pytest.raises(ReviewBoxError, match="altered"):
        review_box.open_box(sealed(desk)[:-1], desk)


@pytest.mark.parametrize("data", [
    b"", b"GIF89a\n{}\nbody", b"fieldcheck-review-image/1\nnot json\nbody",
    b'fieldcheck-review-image/1\n{"alg":"X25519-HKDF-SHA256-A256GCM"}\nbody',
])
def test_foreign_or_damaged_files_are_named_as_such(desk, data) -> None:
    with pytest.raises(ReviewBoxError, match="not a sealed|damaged|not a known format"):
        review_box.open_box(data, desk)


def test_a_boolean_seq_is_a_bad_field(desk) -> None:
    fmt, line, body = sealed(desk).split(b"\n", 2)
    fields = json.loads(line) | {"seq": True}
    with pytest.raises(ReviewBoxError, match="bad field"):
        review_box.read_header(fmt + b"\n" + json.dumps(fields).encode() + b"\n" + body)


def test_public_key_text_is_checked() -> None:
    public = review_box.public_key_of(desk_key(3))
    assert review_box.parse_public_key(f" {public.hex().upper()}\n") == public
    for bad, said in (("", "0 bytes"), ("zz" * 32, "not hexadecimal"), ("ab" * 31, "31 bytes"),
                      ("00" * 32, "all zeros")):
        with pytest.raises(ReviewBoxError, match=said):
            review_box.parse_public_key(bad)


def test_a_naive_capture_time_is_refused(desk) -> None:
    with pytest.raises(ValueError, match="timezone"):
        review_box.seal(JPEG, review_box.public_key_of(desk), DEVICE, 1, 0,
                        CAPTURED.replace(tzinfo=None))
