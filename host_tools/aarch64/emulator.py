"""Run arm64 programs inside the proof's root with ``qemu-aarch64-static``, named explicitly.

This machine has no binfmt_misc, so the kernel cannot start an arm64 binary by itself: every
arm64 program is started as ``chroot ROOT /usr/bin/qemu-aarch64-static -cpu CPU PROGRAM ...``,
and nothing run this way may fork and exec another arm64 binary.
"""

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)
QEMU = "qemu-aarch64-static"
#: The Raspberry Pi 3/Zero 2's core; ``max`` enables every feature qemu knows.
DEFAULT_CPU = "cortex-a53"
#: The host programs the proof needs, with the Debian package that brings each.
TOOLS = {"debootstrap": "debootstrap", QEMU: "qemu-user-static", "chroot": "coreutils",
         "dpkg-deb": "dpkg", "tar": "tar"}
_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root", "LANG": "C.UTF-8"}


class Unavailable(RuntimeError):
    """The proof cannot run on this machine (a reason to skip, not a failure)."""


class ProofError(RuntimeError):
    """A step of the proof failed; the message says which and what came out."""


def missing() -> str | None:
    """Why the proof cannot run here (not root, a tool missing), or None."""
    if os.geteuid() != 0:
        return "the aarch64 proof needs root (chroot, debootstrap)"
    absent = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if absent:
        return (f"the aarch64 proof needs {', '.join(absent)} "
                f"(apt-get install {' '.join(absent)}, or `make aarch64-tools` as root)")
    return None


@dataclass(frozen=True)
class CpuModel:
    """What a Raspberry Pi's ``/proc/cpuinfo`` says about one of its four cores."""

    board: str
    part: str
    variant: str
    revision: str
    features: str


#: The qemu CPU models that are a Raspberry Pi's core, described as that Pi's kernel does.
CPUS = {
    "cortex-a53": CpuModel("Raspberry Pi 3 / Zero 2 W", "0xd03", "0x0", "4",
                           "fp asimd evtstrm crc32 cpuid"),
    "cortex-a72": CpuModel("Raspberry Pi 4", "0xd08", "0x0", "3", "fp asimd evtstrm crc32 cpuid"),
    "cortex-a76": CpuModel("Raspberry Pi 5", "0xd0b", "0x4", "1",
                           "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
                           "asimdrdm lrcpc dcpop asimddp"),
}
_CORES = 4


def cpuinfo(model: CpuModel) -> str:
    """``/proc/cpuinfo`` of a four-core Pi with ``model`` cores."""
    core = ("processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: {m.features}\n"
            "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: {m.variant}\n"
            "CPU part\t: {m.part}\nCPU revision\t: {m.revision}\n\n")
    return "".join(core.format(n=n, m=model) for n in range(_CORES))


def prepare(root: Path, cpu: str) -> str:
    """Copy this machine's static qemu into the root (the chroot runs it from there) and
    describe the emulated CPU where the runtime looks (``/proc/cpuinfo``, the ``/sys`` core
    lists; the chroot has neither, and without them LiteRT's XNNPACK does not start). Returns
    what the CPU is described as."""
    host = shutil.which(QEMU)
    if host is None:
        raise Unavailable(f"no {QEMU} (apt-get install qemu-user-static)")
    shutil.copy2(host, root / "usr" / "bin" / QEMU)
    proc, cores = root / "proc", root / "sys" / "devices" / "system" / "cpu"
    if proc.is_symlink():  # debootstrap's `proc -> /proc` points at itself inside the chroot
        proc.unlink()
    proc.mkdir(exist_ok=True)
    cores.mkdir(parents=True, exist_ok=True)
    model = CPUS.get(cpu)
    for path in (proc / "cpuinfo", *(cores / n for n in ("possible", "present", "online"))):
        path.unlink(missing_ok=True)
    if model is None:
        return f"{cpu}: not a Raspberry Pi core, so no /proc/cpuinfo for the runtime"
    (proc / "cpuinfo").write_text(cpuinfo(model))
    for name in ("possible", "present", "online"):
        (cores / name).write_text(f"0-{_CORES - 1}\n")
    return f"{cpu}: described as a {model.board} ({_CORES} cores, {model.features})"


@dataclass(frozen=True)
class Emulator:
    """arm64 programs in ``root`` on the emulated ``cpu``."""

    root: Path
    cpu: str = DEFAULT_CPU

    def command(self, argv: Sequence[str]) -> list[str]:
        """The host command that runs ``argv`` (an arm64 program and its arguments)."""
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        return [chroot, str(self.root), f"/usr/bin/{QEMU}", "-cpu", self.cpu, *argv]

    def run(self, argv: Sequence[str], what: str, env: Mapping[str, str] | None = None,
            ok_codes: tuple[int, ...] = (0,),
            timeout_s: float = 1800) -> "subprocess.CompletedProcess[str]":
        """Run ``argv`` and return what it did. ProofError when the exit code is not in
        ``ok_codes`` (the code is then in the message with the end of standard error)."""
        logger.debug("%s: %s", what, " ".join(argv))
        try:
            done = subprocess.run(self.command(argv), capture_output=True, text=True,
                                  check=False, timeout=timeout_s, env={**_ENV, **(env or {})})
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ProofError(f"{what}: {err}") from err
        if done.returncode not in ok_codes:
            raise ProofError(f"{what} exited {done.returncode} on the emulated {self.cpu}: "
                             f"{(done.stderr.strip() or done.stdout.strip())[-1200:]}")
        return done
