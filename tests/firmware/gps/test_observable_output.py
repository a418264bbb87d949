"""The NMEA path's whole observable output is what it was before the fast paths (issue 13).

``observable_digests.json`` holds, for every gpsd corpus log and raw stream and for the fuzz
harness's mutated stream, in three chunkings, the digest of every observation, fix, event and
counter as printed by :mod:`tests.firmware.gps.observable`, taken with the code before the
framer, parser, observation and tracker fast paths. A changed digest is a changed result:
find the first differing line with ``python -m tests.firmware.gps.observable FILE CHUNK`` on
both versions. Regenerate (``python -m tests.firmware.gps.observable``) only for a change of
behaviour that is meant.
"""

import json

import pytest

from tests.firmware.gps import observable

STORED: dict[str, str] = json.loads(observable.DIGESTS.read_text())
CORPUS_KEYS = sorted(k for k in STORED if not k.startswith("fuzz-"))


@pytest.mark.skipif(not observable.CORPUS.is_dir(), reason=f"no corpus at {observable.CORPUS}")
@pytest.mark.parametrize("key", CORPUS_KEYS)
def test_corpus_output_is_unchanged(key: str) -> None:
    name, chunk = key.rsplit("/", 1)
    path = observable.CORPUS / name
    checked = path.name not in observable.NO_CHECKSUM
    found = observable.digest(path.read_bytes(), int(chunk), checked)
    assert found == STORED[key], f"{key}: the observable output changed"


def test_every_corpus_file_has_a_stored_digest() -> None:
    files = observable.corpus_files()
    if not files:
        pytest.skip(f"no corpus at {observable.CORPUS}")
    names = {k.rsplit("/", 1)[0] for k in CORPUS_KEYS}
    assert {str(p.relative_to(observable.CORPUS)) for p in files} == names


def test_fuzz_stream_output_is_unchanged() -> None:
    assert observable.fuzz_digests() == {k: v for k, v in STORED.items() if k.startswith("fuzz-")}
