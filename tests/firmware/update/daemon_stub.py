"""A stand-in daemon for the installer tests: behaves as the slot's config/device.toml says.

``python -m tests.firmware.update.daemon_stub SLOT``. A line ``# stub: crash`` exits 3 at once,
``# stub: safe`` reports READY=1 then SAFE MODE, ``# stub: silent`` never reports ready;
otherwise READY=1 and a running status. It appends the slot's version to SLOT/../../runs.log and
exits on SIGTERM, or by itself after 60 s so no test leaves it behind.
"""

import os
import signal
import socket
import sys
import time
from pathlib import Path


def _notify(*fields: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if address:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto("\n".join(fields).encode(), address)


def main() -> int:
    slot = Path(sys.argv[1]).resolve()
    config = (slot / "config" / "device.toml").read_text(encoding="utf-8")
    with (slot.parent.parent / "runs.log").open("a", encoding="utf-8") as log:
        log.write(f"{slot.name} {config.splitlines()[0]}\n")
    if "# stub: crash" in config:
        return 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if "# stub: silent" not in config:
        _notify("READY=1", "STATUS=device stub running")
    if "# stub: safe" in config:
        time.sleep(0.05)
        _notify("STATUS=SAFE MODE: model: manifest.json is missing")
    time.sleep(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
