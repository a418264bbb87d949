"""Run one install in its own process and SIGKILL it at a named step (the kill -9 tests).

``python crash_install.py ROOT ROOT_KEY BUNDLE STEP NOW_ISO`` - STEP ``none`` runs to the end
(the parent then kills it at a random moment instead).
"""

import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from firmware.update.registry import UpdateSettings, installer_for

STUB = f"{sys.executable} {Path(__file__).with_name('daemon_stub.py')} {{current}}"


def main() -> int:
    root, key, bundle, kill_at, now = sys.argv[1:6]

    def step(name: str) -> None:
        if name == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    settings = UpdateSettings(root=Path(root), root_key=Path(key), service="process",
                              daemon_command=STUB, setup="files", health_timeout_s=10.0,
                              settle_s=0.3)
    when = datetime.fromisoformat(now)
    installer_for(settings, step, lambda: when).install(Path(bundle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
