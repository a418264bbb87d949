"""The aarch64 proof end to end: arm64 root, aarch64 bundle, install, faces on a Cortex-A53.

Slow (minutes: everything arm64 runs under qemu) and cached between runs (the root and wheels in
``$FIELDCHECK_AARCH64_CACHE`` or ``~/.cache/fieldcheck/aarch64``). Skips with the reason where it
cannot run: not root, no debootstrap/qemu-user-static, no network for a first build.
"""

import tomllib
from pathlib import Path

import pytest

from host_tools.aarch64 import proof
from host_tools.aarch64.emulator import Unavailable, missing
from host_tools.bundle.build import PROJECT

pytestmark = [pytest.mark.slow, pytest.mark.aarch64]


def test_bundle_installs_and_verifies_faces_on_an_emulated_cortex_a53(tmp_path: Path) -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)
    try:
        result = proof.run(tmp_path, cpu="cortex-a53", say=print)
    except Unavailable as err:
        pytest.skip(str(err))
    # The unit's own installer put this checkout's version into the first slot of a new unit.
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    assert (result.version, result.slot) == (project["project"]["version"], "a")
    assert result.known_answer["ok"] is True
    assert 0 <= result.known_answer["distance"] <= result.known_answer["limit"] == 0.05
    # LiteRT saw the Cortex-A53 described (cpuinfo parsed), so XNNPACK's arm64 kernels ran.
    assert not [note for note in result.runtime_notes if "cpuinfo" in note]
    verdicts = {v.photo: v for v in result.verdicts}
    same, other = verdicts[proof.SAME], verdicts[proof.OTHER]
    assert same.outcome == "match" and same.distance is not None
    assert same.distance < same.threshold
    assert other.outcome == "no_match" and other.distance is not None
    assert other.distance >= other.threshold
    print(f"aarch64 proof seconds: {result.seconds}")
