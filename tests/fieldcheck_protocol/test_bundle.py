"""Bundle metadata and archive: each TUF-style attack is refused with its own code."""

import io
import tarfile
from datetime import timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.bundle import (
    BundleCode,
    BundleError,
    FileEntry,
    Manifest,
    Trusted,
    check_path,
    open_root,
    sign_manifest,
)
from fieldcheck_protocol.bundle_archive import read_bundle
from fieldcheck_protocol.signature import public_key_bytes
from tests.fieldcheck_protocol.bundle_factory import (
    FILES,
    NOW,
    Keys,
    bundle_bytes,
    manifest,
    root_cose,
)


def _read(data: bytes, keys: Keys, trusted: Trusted | None = None, now=NOW) -> dict[str, bytes]:
    out: dict[str, io.BytesIO] = {}

    class Keep(io.BytesIO):
        def close(self) -> None:  # keep the value readable after the reader closes it
            pass

    def sink(path: str) -> io.BytesIO:
        out[path] = Keep()
        return out[path]

    read_bundle(io.BytesIO(data), keys.root_public, now, trusted or Trusted(), sink)
    return {p: b.getvalue() for p, b in out.items()}


def _code(data: bytes, keys: Keys, **kwargs) -> BundleCode:
    with pytest.raises(BundleError) as caught:
        _read(data, keys, **kwargs)
    assert caught.value.hint
    return caught.value.code


def test_a_good_bundle_reads_back_every_file_byte_for_byte():
    keys = Keys()
    assert _read(bundle_bytes(keys), keys) == dict(FILES)


def test_the_signed_metadata_comes_first_in_the_tar():
    names = tarfile.open(fileobj=io.BytesIO(bundle_bytes(Keys()))).getnames()
    assert names[:2] == ["root.cose", "manifest.cose"]
    assert names[2:] == sorted(FILES)


def test_another_root_key_is_refused():
    keys = Keys()
    assert _code(bundle_bytes(keys), Keys()) == BundleCode.WRONG_ROOT


def test_a_release_key_the_root_does_not_list_is_refused():
    keys = Keys()
    data = bundle_bytes(keys, signer=Ed25519PrivateKey.generate())
    assert _code(data, keys) == BundleCode.UNTRUSTED_KEY


def test_a_rotated_out_release_key_is_refused_once_the_new_root_is_known():
    keys = Keys()
    new_release = Ed25519PrivateKey.generate()
    rotated = root_cose(keys, version=2, release=(public_key_bytes(new_release),))
    # the old key's bundle, even with the old root v1, is refused by a unit that saw v2
    assert _code(bundle_bytes(keys, counter=5), keys,
                 trusted=Trusted(root_version=2)) == BundleCode.ROOT_ROLLBACK
    # and with root v2 the old key is no longer listed
    assert _code(bundle_bytes(keys, counter=5, root=rotated), keys) == BundleCode.UNTRUSTED_KEY
    new = bundle_bytes(keys, counter=5, root=rotated, signer=new_release)
    assert _read(new, keys, trusted=Trusted(root_version=2)) == dict(FILES)


def test_expired_bundle_and_expired_root_are_refused():
    keys = Keys()
    assert _code(bundle_bytes(keys), keys, now=NOW + timedelta(days=31)) == BundleCode.EXPIRED
    old_root = root_cose(keys, days=1)
    assert _code(bundle_bytes(keys, root=old_root), keys,
                 now=NOW + timedelta(days=2)) == BundleCode.EXPIRED


def test_a_counter_not_above_the_units_is_refused():
    keys = Keys()
    assert _code(bundle_bytes(keys, counter=3), keys, trusted=Trusted(counter=3)) \
        == BundleCode.ROLLBACK
    assert _read(bundle_bytes(keys, counter=4), keys, trusted=Trusted(counter=3))


def _retar(data: bytes, change) -> bytes:
    members = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            members.append((member, tar.extractfile(member).read()))
    members = change(members)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, body in members:
            member.size = len(body)
            tar.addfile(member, io.BytesIO(body))
    return out.getvalue()


def test_a_changed_file_is_refused_by_its_hash():
    keys = Keys()

    def flip(members):
        member, body = members[-1]
        return [*members[:-1], (member, body[:-1] + bytes([body[-1] ^ 1]))]

    assert _code(_retar(bundle_bytes(keys), flip), keys) == BundleCode.BAD_HASH


def test_a_cut_file_is_refused_by_its_size():
    keys = Keys()
    cut = _retar(bundle_bytes(keys), lambda m: [*m[:-1], (m[-1][0], m[-1][1][:10])])
    assert _code(cut, keys) == BundleCode.BAD_SIZE


def test_an_extra_file_is_refused_and_a_missing_one_too():
    keys = Keys()

    def add(members):
        extra = tarfile.TarInfo("wheels/evil-1.0-py3-none-any.whl")
        return [*members, (extra, b"payload")]

    assert _code(_retar(bundle_bytes(keys), add), keys) == BundleCode.EXTRA_FILE
    assert _code(_retar(bundle_bytes(keys), lambda m: m[:-1]), keys) == BundleCode.MISSING_FILE


def test_a_bundle_without_metadata_first_is_unsigned():
    keys = Keys()
    assert _code(_retar(bundle_bytes(keys), lambda m: m[2:]), keys) == BundleCode.UNSIGNED
    assert _code(_retar(bundle_bytes(keys), lambda m: [m[1], m[0], *m[2:]]), keys) \
        == BundleCode.UNSIGNED
    assert _code(b"not a tar at all", keys) == BundleCode.MALFORMED


def test_a_mix_of_one_bundles_metadata_with_anothers_files_is_refused():
    keys = Keys()
    one = bundle_bytes(keys, counter=1)
    other = bundle_bytes(keys, counter=2, files={**FILES, "config/fieldcheck.toml": b"x"})

    def swap(members):
        with tarfile.open(fileobj=io.BytesIO(other)) as tar:
            foreign = tar.getmember("config/fieldcheck.toml")
            body = tar.extractfile(foreign).read()
        return [(m, foreign_body) if m.name == foreign.name else (m, b)
                for m, b in members for foreign_body in [body]]

    assert _code(_retar(one, swap), keys) in (BundleCode.BAD_SIZE, BundleCode.BAD_HASH)


def test_a_flipped_signature_byte_is_bad_signature():
    keys = Keys()
    cose = root_cose(keys)
    bad = cose[:-1] + bytes([cose[-1] ^ 1])
    with pytest.raises(BundleError) as caught:
        open_root(bad, keys.root_public, NOW)
    assert caught.value.code == BundleCode.BAD_SIGNATURE


def test_non_deterministic_payload_is_refused():
    keys = Keys()
    from fieldcheck_protocol.bundle import bundle_key_id
    from fieldcheck_protocol.signature import sign1

    payload = cbor2.dumps({"v": 1, "t": "root", "n": 1, "ex": 1 << 50,
                           "keys": [public_key_bytes(keys.release)]})  # not canonical order
    cose = sign1(payload, bundle_key_id(keys.root_public).encode(), keys.root)
    with pytest.raises(BundleError) as caught:
        open_root(cose, keys.root_public, NOW)
    assert caught.value.code == BundleCode.MALFORMED


@pytest.mark.parametrize("path", ["/etc/passwd", "wheels/../../x", "bin/sh", "models/.hidden",
                                  "models", "models//x", "config/a b"])
def test_paths_outside_the_bundle_folders_are_refused(path):
    with pytest.raises(BundleError):
        check_path(path)


def test_manifest_checks_its_own_values():
    with pytest.raises(BundleError):
        FileEntry("ab", 1)
    with pytest.raises(BundleError):
        Manifest("0.2.0", 0, NOW, NOW + timedelta(days=1), {})
    made = manifest()
    assert sign_manifest(made, Ed25519PrivateKey.generate())
    assert list(made.files) == sorted(FILES)


def test_public_keys_parse_from_pem_or_hex_and_nothing_else():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from fieldcheck_protocol.keyfile import parse_public_key

    keys = Keys()
    pem = keys.root.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    assert parse_public_key(pem) == keys.root_public
    assert parse_public_key(keys.root_public.hex().encode() + b"\n") == keys.root_public
    other = X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for bad in (b"", b"zz" * 32, other):
        with pytest.raises(ValueError):
            parse_public_key(bad)
