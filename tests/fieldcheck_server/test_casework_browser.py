"""The casework pages in a real browser (Debian's chromium via Playwright) against a real
`fieldcheck server run` with no tile server: a person's timeline whose track and markers draw
on a blank map, the expected windows beside what arrived, and a review decision. Screenshots go
to $FIELDCHECK_SCREENSHOTS (default: the test's tmp dir)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldcheck_protocol.record import Kind, to_ms
from fieldcheck_server.cli.common import DB_FILE
from fieldcheck_server.db.engine import open_sqlite
from fieldcheck_server.domain.ingest import commit_batch, verify_items
from tests.e2e.serverproc import ServerProcess, fieldcheck
from tests.fieldcheck_server.browserkit import CHROMIUM, chromium, screenshots, server_dir, sign_in
from tests.fieldcheck_server.casekit import Chain
from tests.firmware.sync.devicesim import SimDevice

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install -y chromium"),
]


def _records(directory: Path, sim: SimDevice) -> None:
    """The unit's signed records from just after the person was given it (a schedule, a
    check-in that did not match, a short walk), committed through ingest's own path."""
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=3)
    chain = Chain(sim)
    chain.event(due - timedelta(minutes=2), "schedule", day=due.date().isoformat(), mode="fixed",
                timezone="UTC", slots=1, due=due.isoformat()[11:])
    chain.checkin(due + timedelta(minutes=1), "no_match", slot=to_ms(due), score=0.3)
    for minute in range(4):
        chain.add(Kind.LOCATION, due + timedelta(minutes=5 + minute), {"interval": 60},
                  at=(52.52 + minute / 500, 13.40 + minute / 500))
    db = open_sqlite(directory / DB_FILE)
    with db.write() as tx:
        commit_batch(tx, sim.device_id, verify_items(chain.cose, sim.public_key), 0, "test")
    db.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    sim = SimDevice(72)
    directory = server_dir(tmp_path, "olu", "officer", sim, "unit 72")
    fieldcheck("person", "add", "C-72", "--dir", str(directory), "--name", "Dee",
               "--officer", "olu")
    fieldcheck("person", "assign", "C-72", sim.device_id, "--dir", str(directory),
               "--reason", "issued")
    fieldcheck("person", "zone", "C-72", "--dir", str(directory), "--name", "home", "--rule",
               "inclusion", "--circle", "52.52,13.40,150", "--hours", "21:00-07:00")
    _records(directory, sim)
    fieldcheck("review", "scan", "--dir", str(directory))
    process = ServerProcess(directory)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_timeline_map_without_tiles_and_a_review_decision(server: ServerProcess,
                                                          tmp_path: Path) -> None:
    shots = screenshots(tmp_path)
    base = f"https://127.0.0.1:{server.port}"
    with chromium() as browser:
        page = browser.new_context(ignore_https_errors=True).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        sign_in(page, base, "olu")
        page.goto(f"{base}/people/C-72")
        page.wait_for_selector("#timeline-map[data-drawn]")
        assert page.get_attribute("#timeline-map", "data-drawn") == "4"
        assert page.locator("#timeline-map path, #timeline-map canvas").count() > 0
        assert page.get_attribute("#timeline-map", "data-zones") == "1"
        assert "failed" in page.inner_text("main") and "no_match" in page.inner_text("main")
        assert errors == []
        page.screenshot(path=str(shots / "timeline.png"), full_page=True)
        page.click("text=Review queue")
        page.wait_for_url(f"{base}/review")
        assert "no_match" in page.inner_text("main")
        page.screenshot(path=str(shots / "review.png"), full_page=True)
        row = page.locator("tr", has_text="no_match").first
        row.locator("select[name=decision]").select_option("no_finding")
        row.locator("input[name=reason]").fill("poor light; called and confirmed")
        row.locator("button").click()
        page.wait_for_url(f"{base}/review?notice=*")
        assert "no_finding recorded" in page.inner_text("main")
