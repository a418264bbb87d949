"""The web shell in a real browser: Debian's chromium, driven by Playwright, against a real
`fieldcheck server run` on loopback. Sign in, the fleet, the audit log, a CSRF refusal, a wrong
password. Screenshots of each view go to $FIELDCHECK_SCREENSHOTS (default: the test's tmp dir).

Skipped where chromium is absent (`apt-get install chromium`); Playwright never downloads a
browser here: it is pointed at the system executable.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.serverproc import ServerProcess, fieldcheck
from tests.fieldcheck_server.operator_client import PASSWORD
from tests.firmware.sync.devicesim import SimDevice

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install -y chromium"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, SimDevice]]:
    directory = tmp_path / "srv"
    fieldcheck("server", "init", "--dir", str(directory))
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    fieldcheck("admin", "create", "--dir", str(directory), "--username", "ana",
               "--password-file", str(secret))
    fieldcheck("admin", "user", "add", "--dir", str(directory), "--username", "tec",
               "--role", "technician", "--password-file", str(secret))
    sim = SimDevice(71)
    fieldcheck("device", "register", "--dir", str(directory), "--id", sim.device_id,
               "--public-key", sim.public_key.hex(), "--label", "bench unit 71")
    process = ServerProcess(directory)
    process.start()
    try:
        yield process, sim
    finally:
        process.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FIELDCHECK_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator["sync_api.Browser"]:
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: the test may run as root, where chromium refuses its sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _sign_in(page: "sync_api.Page", base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_sign_in_fleet_audit_and_a_csrf_refusal(
    server: tuple[ServerProcess, SimDevice], browser: "sync_api.Browser", shots: Path
) -> None:
    process, sim = server
    base = f"https://127.0.0.1:{process.port}"
    context = browser.new_context(ignore_https_errors=True)  # the server's self-signed cert
    page = context.new_page()
    page.goto(base)
    assert page.url == f"{base}/login"
    page.screenshot(path=str(shots / "login.png"))

    _sign_in(page, base, "ana", "not the password at all")
    assert "wrong username or password" in page.inner_text("[role=alert]")

    _sign_in(page, base, "ana")
    assert page.url == f"{base}/fleet"
    assert sim.device_id in page.inner_text("#fleet")
    assert "never seen" in page.inner_text("#fleet")
    page.screenshot(path=str(shots / "fleet.png"), full_page=True)
    page.fill("input[name=q]", "no such unit")
    page.click("form.filters button")
    assert "No unit matches" in page.inner_text("#fleet")

    page.click("text=Audit log")
    assert page.url == f"{base}/audit"
    assert "chain intact" in page.inner_text("main")
    assert "device.registered" in page.inner_text("#audit")
    page.screenshot(path=str(shots / "audit.png"), full_page=True)

    # A forged token in the sign-out form: refused, and the session still stands.
    page.eval_on_selector("header form input[name=csrf_token]", "e => e.value = 'forged'")
    page.click("header form button")
    assert "CSRF" in page.inner_text("body")
    page.screenshot(path=str(shots / "csrf-refused.png"))
    page.goto(f"{base}/account")
    assert "ana" in page.inner_text("main")
    page.click("main form.signout button")
    assert page.url == f"{base}/login"
    print(f"screenshots in {shots}")


def test_a_technician_sees_the_fleet_but_not_the_audit_log(
    server: tuple[ServerProcess, SimDevice], browser: "sync_api.Browser"
) -> None:
    process, _ = server
    base = f"https://127.0.0.1:{process.port}"
    page = browser.new_context(ignore_https_errors=True).new_page()
    _sign_in(page, base, "tec")
    assert page.url == f"{base}/fleet"
    assert page.locator("text=Audit log").count() == 0
    answer = page.goto(f"{base}/audit")
    assert answer is not None and answer.status == 403
    assert "needs the role admin, auditor" in page.inner_text("[role=alert]")
