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


def install_qemu(root: Path) -> None:
    """Copy this machine's static qemu into the root (the chroot runs it from there)."""
    host = shutil.which(QEMU)
    if host is None:
        raise Unavailable(f"no {QEMU} (apt-get install qemu-user-static)")
    shutil.copy2(host, root / "usr" / "bin" / QEMU)


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
