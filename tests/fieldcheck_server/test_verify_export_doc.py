"""docs/verify-export.md's script, run as written against a real export (so the doc cannot rot)."""

import re
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldcheck_protocol.clock import SystemClock
from fieldcheck_protocol.export import Export, decode_export, encode_export
from fieldcheck_server.cli import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.domain.ingest import IngestService
from host_tools.cli import main
from tests.fieldcheck_server.serverkit import auth_headers
from tests.firmware.sync.devicesim import SimDevice

pytest.importorskip("pycose")
DOC = Path(__file__).resolve().parents[2] / "docs" / "verify-export.md"


def doc_script(tmp_path: Path) -> Path:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, "the document has one Python block: the verifier"
    script = tmp_path / "verify_export.py"
    script.write_text(blocks[0])
    return script


def run(script: Path, export: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated, so nothing of this repository is importable by the script.
    return subprocess.run(
        [sys.executable, "-I", str(script), str(export), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=export.parent,
    )


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, SimDevice]:
    """A server that received 6 records from a unit, and its `--format cose` export."""
    directory = tmp_path / "srv"
    assert main(["server", "init", "--dir", str(directory)]) == 0
    sim = SimDevice(seed=23)
    register = ["device", "register", "--dir", str(directory), "--id", sim.device_id]
    assert main([*register, "--public-key", sim.public_key.hex()]) == 0
    service = IngestService(open_sqlite(directory / DB_FILE), SystemClock())
    body = cbor2.dumps(sim.extend(6))
    result = service.handle(auth_headers(sim, body, SystemClock()), body, len(body), "test")
    assert result.acked_seq == 5
    out = tmp_path / "unit.cose"
    base = ["records", "export", "--dir", str(directory), "--device", sim.device_id]
    assert main([*base, "--format", "cose", "--out", str(out)]) == 0
    return out, sim


def test_the_documented_script_verifies_a_real_export(
    exported: tuple[Path, SimDevice], tmp_path: Path
) -> None:
    out, _ = exported
    published = fieldcheck_out("server", "export-key", "--dir", str(out.parent / "srv")).strip()
    result = run(doc_script(tmp_path), out, published)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: key, signatures, chain and signed head check out" in result.stdout
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    assert "published export key" in run(doc_script(tmp_path), out, other).stdout


def _rewritten(out: Path, sim: SimDevice, records: list[bytes], name: str) -> Path:
    """The same export with other records, the server's head statement kept as it was."""
    original = decode_export(out.read_bytes())
    path = out.with_name(name)
    path.write_bytes(
        encode_export(
            Export(
                sim.device_id, sim.public_key, tuple(records), original.head, original.server_key
            )
        )
    )
    return path


def fieldcheck_out(*argv: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(list(argv)) == 0
    return buffer.getvalue()


def test_the_documented_script_catches_cuts_and_forgeries(
    exported: tuple[Path, SimDevice], tmp_path: Path
) -> None:
    out, sim = exported
    script = doc_script(tmp_path)
    records = list(cbor2.loads(out.read_bytes())["records"])
    cut = _rewritten(out, sim, records[:2] + records[3:], "cut.cose")
    assert "records are missing" in run(script, cut).stdout
    flipped = bytearray(records[4])
    flipped[-1] ^= 1
    forged = _rewritten(out, sim, [*records[:4], bytes(flipped)], "forged.cose")
    result = run(script, forged)
    assert result.returncode == 1 and "signature does not verify" in result.stdout
    other = SimDevice(seed=24)
    foreign = _rewritten(out, sim, [*records, *other.extend(1)], "foreign.cose")
    assert run(script, foreign).returncode == 1
    # The chain alone cannot see a cut at the end; the server's signed head does.
    tail_cut = _rewritten(out, sim, records[:4], "tail.cose")
    result = run(script, tail_cut)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "FAIL the file ends at seq 3, the server's signed head is seq 5"
    ]
