"""Bundles, root key files and installers for the update tests (real slots in tmp_path)."""

import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from fieldcheck_protocol.signature import public_key_bytes
from firmware.update.registry import UpdateSettings, installer_for
from tests.fieldcheck_protocol.bundle_factory import FILES, NOW, Keys, bundle_bytes

STUB = f"{sys.executable} {Path(__file__).with_name('daemon_stub.py')} {{current}}"


def files_for(label: str, behaviour: str = "") -> dict[str, bytes]:
    """The factory's files with a config naming ``label`` (and a stub behaviour line)."""
    config = f"# {label}\n{('# stub: ' + behaviour) if behaviour else ''}\n[device]\n".encode()
    return {**FILES, "config/device.toml": config}


def write_bundle(tmp_path: Path, keys: Keys, counter: int, label: str = "", behaviour: str = "",
                 **kwargs) -> Path:
    """A bundle file in ``tmp_path``."""
    path = tmp_path / f"bundle-{counter}-{label or 'x'}{behaviour}.tar"
    files = files_for(label or f"v{counter}", behaviour)
    path.write_bytes(bundle_bytes(keys, counter=counter, version=f"0.{counter}.0",
                                  files=files, **kwargs))
    return path


def root_key_file(tmp_path: Path, keys: Keys) -> Path:
    path = tmp_path / "bundle-root.hex"
    path.write_text(public_key_bytes(keys.root).hex(), encoding="ascii")
    return path


def settings(tmp_path: Path, keys: Keys, service: str = "process") -> UpdateSettings:
    """Settings for a unit rooted in tmp_path/unit, with the stub daemon."""
    return UpdateSettings(root=tmp_path / "unit", root_key=root_key_file(tmp_path, keys),
                          service=service, daemon_command=STUB, setup="files",
                          health_timeout_s=10.0, settle_s=0.3)


def installer(tmp_path: Path, keys: Keys, service: str = "process", now: datetime = NOW):
    return installer_for(settings(tmp_path, keys, service), now=lambda: now)


def stop_daemon(root: Path) -> None:
    """Kill the stub a test started (its pid is in daemon.pid)."""
    try:
        pid = int((root / "daemon.pid").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def now_utc() -> datetime:
    return datetime.now(UTC)
