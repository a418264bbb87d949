"""The web shell in a real browser: Debian's chromium, driven by Playwright, against a real
`fieldcheck server run` on loopback. Sign in, the fleet, the audit log, a CSRF refusal, a wrong
password. Screenshots of each view go to $FIELDCHECK_SCREENSHOTS (default: the test's tmp dir).

Skipped where chromium is absent (`apt-get install chromium`); Playwright never downloads a
browser here: it is pointed at the system executable.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.serverproc import ServerProcess
from tests.fieldcheck_server.browserkit import CHROMIUM, chromium, screenshots, server_dir, sign_in
from tests.firmware.sync.devicesim import SimDevice

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install -y chromium"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, SimDevice]]:
    sim = SimDevice(71)
    process = ServerProcess(server_dir(tmp_path, "tec", "technician", sim, "bench unit 71"))
    process.start()
    try:
        yield process, sim
    finally:
        process.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return screenshots(tmp_path)


@pytest.fixture
def browser() -> Iterator["sync_api.Browser"]:
    with chromium() as launched:
        yield launched


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

    sign_in(page, base, "ana", "not the password at all")
    assert "wrong username or password" in page.inner_text("[role=alert]")

    sign_in(page, base, "ana")
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
    sign_in(page, base, "tec")
    assert page.url == f"{base}/fleet"
    assert page.locator("text=Audit log").count() == 0
    answer = page.goto(f"{base}/audit")
    assert answer is not None and answer.status == 403
    assert "needs the role admin, auditor" in page.inner_text("[role=alert]")
