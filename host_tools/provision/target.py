"""Where provisioning acts: this machine (``--local``, on the unit) or a unit over SSH.

Over SSH the system ``ssh`` client runs each command (``BatchMode``: keys or an agent, never a
password prompt) and files travel on its stdin; nothing but OpenSSH is needed on either side.
"""

import logging
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

#: Seconds a single command on the unit may take (the self-test waits for a GPS fix).
COMMAND_TIMEOUT_S = 300


class ProvisionError(Exception):
    """A step cannot go on; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Ran:
    """A finished command on the unit."""

    code: int
    out: str
    err: str


class Target(Protocol):
    """The unit as provisioning sees it."""

    describe: str

    def run(self, argv: list[str]) -> Ran:
        """Run a command on the unit to completion."""
        ...

    def read(self, path: Path) -> bytes | None:
        """A file's bytes, None when it does not exist."""
        ...

    def write(self, path: Path, data: bytes, mode: int) -> None:
        """Write a file (folders made), replacing it atomically, with ``mode``."""
        ...


def _run(argv: list[str], stdin: bytes | None = None) -> Ran:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, check=False,
                              timeout=COMMAND_TIMEOUT_S)
    except FileNotFoundError as err:
        raise ProvisionError(f"cannot run {argv[0]}: not found",
                             "install it, or pass the right --device-command") from err
    except subprocess.TimeoutExpired as err:
        raise ProvisionError(f"{shlex.join(argv)[:200]} took over {COMMAND_TIMEOUT_S} s",
                             "check the unit is responsive") from err
    return Ran(done.returncode, done.stdout.decode(errors="replace"),
               done.stderr.decode(errors="replace"))


class LocalTarget:
    """Provisioning on the unit itself."""

    describe = "this machine"

    def run(self, argv: list[str]) -> Ran:
        """Run locally."""
        return _run(argv)

    def read(self, path: Path) -> bytes | None:
        """Read locally."""
        return path.read_bytes() if path.is_file() else None

    def write(self, path: Path, data: bytes, mode: int) -> None:
        """Write locally: a temporary file beside it, then rename."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        temporary.chmod(mode)
        temporary.replace(path)


class SshTarget:
    """A unit reached with the system ``ssh`` client (``user@host``)."""

    def __init__(self, destination: str, ssh: str = "ssh") -> None:
        if destination.startswith("-") or not destination.strip():
            raise ProvisionError(f"{destination!r} is not an SSH destination",
                                 "give user@host, e.g. pi@fieldcheck-unit.local")
        self.describe = destination
        self._base = [ssh, "-o", "BatchMode=yes", destination, "--"]

    def run(self, argv: list[str]) -> Ran:
        """Run on the unit through ssh (the command quoted for its shell)."""
        ran = _run([*self._base, shlex.join(argv)])
        if ran.code == 255:
            raise ProvisionError(f"ssh to {self.describe} failed: {ran.err.strip()[-300:]}",
                                 "check the address, that SSH is on (Raspberry Pi Imager: "
                                 "enable SSH) and that your key is in ~/.ssh/authorized_keys")
        return ran

    def read(self, path: Path) -> bytes | None:
        """``cat`` the file on the unit (None when it is absent)."""
        quoted = shlex.quote(str(path))
        ran = _run([*self._base, f"test -f {quoted} && cat {quoted} || exit 3"])
        if ran.code == 3:
            return None
        if ran.code != 0:
            raise ProvisionError(f"cannot read {path} on {self.describe}: {ran.err.strip()}")
        return ran.out.encode()

    def write(self, path: Path, data: bytes, mode: int) -> None:
        """Send the bytes on ssh's stdin into a temporary file, then rename."""
        target, temporary = shlex.quote(str(path)), shlex.quote(f"{path}.tmp")
        script = (f"mkdir -p {shlex.quote(str(path.parent))} && umask 077 && cat > {temporary}"
                  f" && chmod {mode:o} {temporary} && mv {temporary} {target}")
        ran = _run([*self._base, script], stdin=data)
        if ran.code != 0:
            raise ProvisionError(f"cannot write {path} on {self.describe}: {ran.err.strip()}",
                                 "check the user may write there (run as root or use sudo)")
