"""The aarch64 proof's parts that run without root or qemu: wheel unpacking, the qemu command,
the cache keys and the checks that turn a wrong result into a failure."""

import zipfile
from pathlib import Path

import pytest

from host_tools.aarch64 import emulator, proof
from host_tools.aarch64 import root as roots
from host_tools.aarch64.emulator import Emulator, ProofError


def test_a_wheel_unpacks_with_its_platlib_data_folded_in_and_nothing_else(tmp_path: Path) -> None:
    wheel = tmp_path / "x-1.0-cp311-cp311-manylinux_2_17_aarch64.whl"
    with zipfile.ZipFile(wheel, "w") as out:
        out.writestr("x/__init__.py", "A = 1\n")
        out.writestr("x-1.0.data/platlib/x_ext.so", b"\x7fELF")
        out.writestr("x-1.0.data/scripts/x-tool", "#!python\n")
        out.writestr("x-1.0.dist-info/METADATA", "Name: x\n")
    into = tmp_path / "site"
    with zipfile.ZipFile(wheel) as source:
        proof._unpack_wheel(source, into)
    found = sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())
    assert found == ["x-1.0.dist-info/METADATA", "x/__init__.py", "x_ext.so"]


def test_arm64_programs_run_through_the_static_qemu_inside_the_root(tmp_path: Path) -> None:
    command = Emulator(tmp_path, "cortex-a53").command(["/usr/bin/python3", "-V"])
    assert command[1:] == [str(tmp_path), "/usr/bin/qemu-aarch64-static", "-cpu", "cortex-a53",
                           "/usr/bin/python3", "-V"]
    assert command[0].endswith("chroot")


def test_the_cache_lives_where_the_environment_says(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDCHECK_AARCH64_CACHE", str(tmp_path))
    assert roots.cache_home() == tmp_path
    monkeypatch.delenv("FIELDCHECK_AARCH64_CACHE")
    assert roots.cache_home() == Path.home() / ".cache" / "fieldcheck" / "aarch64"
    assert len(roots.root_key()) == 16


def _result(same: str, other: str, ok: bool = True) -> proof.Result:
    return proof.Result("cortex-a53", "0.1.0", "a", {"ok": ok, "distance": 0.01, "limit": 0.05},
                        [proof.Verdict(proof.SAME, same, 0.3, 0.6),
                         proof.Verdict(proof.OTHER, other, 0.9, 0.6)])


def test_only_a_match_a_no_match_and_the_known_answer_pass() -> None:
    proof.check(_result("match", "no_match"))
    with pytest.raises(ProofError, match="expected obama3.jpg match and biden.jpg no_match"):
        proof.check(_result("match", "match"))
    with pytest.raises(ProofError, match="expected"):
        proof.check(_result("unknown", "no_match"))
    with pytest.raises(ProofError, match="known-answer embedding failed"):
        proof.check(_result("match", "no_match", ok=False))


def test_the_root_is_told_it_runs_on_a_pi_core_and_loses_that_for_other_cpus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    qemu = tmp_path / "qemu-aarch64-static"
    qemu.write_bytes(b"\x7fELF")
    monkeypatch.setattr(emulator.shutil, "which", lambda _name: str(qemu))
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "proc").symlink_to("/proc")  # as debootstrap leaves it
    said = emulator.prepare(root, "cortex-a53")
    assert "Raspberry Pi 3" in said and (root / "usr" / "bin" / "qemu-aarch64-static").is_file()
    info = (root / "proc" / "cpuinfo").read_text()
    assert info.count("CPU part\t: 0xd03") == 4 and "processor\t: 3" in info
    cores = root / "sys" / "devices" / "system" / "cpu"
    assert (cores / "possible").read_text() == (cores / "online").read_text() == "0-3\n"
    said = emulator.prepare(root, "max")
    assert "not a Raspberry Pi core" in said
    assert not (root / "proc" / "cpuinfo").exists() and not (cores / "possible").exists()


def test_it_says_why_it_cannot_run_not_root_or_a_tool_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator.os, "geteuid", lambda: 1000)
    assert emulator.missing() == "the aarch64 proof needs root (chroot, debootstrap)"
    monkeypatch.setattr(emulator.os, "geteuid", lambda: 0)
    monkeypatch.setattr(emulator.shutil, "which",
                        lambda name: None if name in ("debootstrap", "qemu-aarch64-static")
                        else f"/usr/bin/{name}")
    assert emulator.missing() == (
        "the aarch64 proof needs debootstrap, qemu-user-static (apt-get install debootstrap "
        "qemu-user-static, or `make aarch64-tools` as root)")
