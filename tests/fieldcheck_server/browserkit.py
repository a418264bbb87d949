"""What the operator pages' browser tests share: Debian's chromium driven by Playwright (pointed
at the system executable, never a downloaded browser), a server directory with its first admin,
one more account and a registered unit, signing in, and where screenshots go."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.serverproc import fieldcheck
from tests.fieldcheck_server.operator_client import PASSWORD
from tests.firmware.sync.devicesim import SimDevice

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def server_dir(tmp_path: Path, username: str, role: str, sim: SimDevice, label: str) -> Path:
    """A server directory with the admin ``ana``, the account ``username`` in ``role`` (both
    with :data:`PASSWORD`) and ``sim`` registered as ``label``."""
    directory = tmp_path / "srv"
    fieldcheck("server", "init", "--dir", str(directory))
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    fieldcheck("admin", "create", "--dir", str(directory), "--username", "ana",
               "--password-file", str(secret))
    fieldcheck("admin", "user", "add", "--dir", str(directory), "--username", username,
               "--role", role, "--password-file", str(secret))
    fieldcheck("device", "register", "--dir", str(directory), "--id", sim.device_id,
               "--public-key", sim.public_key.hex(), "--label", label)
    return directory


def screenshots(tmp_path: Path) -> Path:
    """$FIELDCHECK_SCREENSHOTS, or a folder in the test's tmp dir."""
    folder = Path(os.environ.get("FIELDCHECK_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium (a ``playwright.sync_api.Browser``), closed at the end."""
    from playwright import sync_api  # the callers skip where Playwright is absent

    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: the test may run as root, where chromium refuses its sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
